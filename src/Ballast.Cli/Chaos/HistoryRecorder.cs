using System.Collections.Concurrent;
using System.Diagnostics;

namespace Ballast.Cli.Chaos;

/// <summary>One read of the workload: which key, what version it returned, from the cache (hit) or the database.</summary>
/// <param name="Frontend">The frontend that read.</param>
/// <param name="Key">The key index.</param>
/// <param name="Version">The version the application got.</param>
/// <param name="StartMs">When the read began, in ms since the run started.</param>
/// <param name="EndMs">When the application had its value.</param>
/// <param name="Hit">True for a cache hit; false for a database read after a miss.</param>
/// <param name="Path">The read path it took (<see cref="ReadPaths"/>); null when not told.</param>
public readonly record struct ReadRecord(int Frontend, int Key, long Version, double StartMs, double EndMs, bool Hit, string? Path = null);

/// <summary>One write: the database made <paramref name="Version"/>, then the invalidation ran until <paramref name="EndMs"/>.</summary>
/// <param name="Frontend">The frontend that wrote.</param>
/// <param name="Key">The key index.</param>
/// <param name="Version">The version the database made.</param>
/// <param name="StartMs">When the write began.</param>
/// <param name="EndMs">When the delete returned (success or error); <see cref="double.PositiveInfinity"/> if it never did.</param>
/// <param name="Failed">True when the delete threw.</param>
public readonly record struct WriteRecord(int Frontend, int Key, long Version, double StartMs, double EndMs, bool Failed);

/// <summary>A counter value handed out to a frontend (<c>ballast chaos --counter-ratio</c>).</summary>
/// <param name="Frontend">The frontend.</param>
/// <param name="Counter">The counter's index.</param>
/// <param name="Value">The value the increment returned.</param>
/// <param name="AtMs">When it returned, ms since the run began.</param>
public readonly record struct CounterRecord(int Frontend, int Counter, ulong Value, double AtMs);

/// <summary>A client event (server marked down or readmitted) as one frontend saw it.</summary>
/// <param name="Frontend">The frontend.</param>
/// <param name="Server">The server index (the gutter server is <c>Servers</c>).</param>
/// <param name="AtMs">When, in ms since the run started.</param>
/// <param name="Failed">True for ServerFailed, false for ServerRecovered.</param>
/// <param name="Detail">The event's text.</param>
public readonly record struct ClientEvent(int Frontend, int Server, double AtMs, bool Failed, string Detail);

/// <summary>A flush a frontend made (its <c>ServerFlushed</c> event): the server, the outage epoch it belongs to and why.</summary>
/// <param name="Frontend">The frontend that flushed.</param>
/// <param name="Server">The server index.</param>
/// <param name="AtMs">When, in ms since the run started.</param>
/// <param name="Epoch">The epoch of the server's record in the shared view that the flush belongs to.</param>
/// <param name="Reason">Why (failback, lost record, new pool...).</param>
public readonly record struct FlushEvent(int Frontend, int Server, double AtMs, long Epoch, ServerFlushReason Reason);

/// <summary>A fault as it actually happened.</summary>
/// <param name="Window">The planned window.</param>
/// <param name="StartMs">When it was applied.</param>
/// <param name="EndMs">When it was lifted.</param>
public readonly record struct FaultEvent(FaultWindow Window, double StartMs, double EndMs);

/// <summary>The run's monotonic clock, in milliseconds since it started.</summary>
public sealed class RunClock
{
    private readonly long _start = Stopwatch.GetTimestamp();

    /// <summary>The run's start as a <see cref="Stopwatch"/> timestamp (on Linux, CLOCK_MONOTONIC in ns, as PHP's hrtime).</summary>
    public long StartTimestamp => _start;

    /// <summary>Milliseconds since the run started.</summary>
    public double NowMs => Stopwatch.GetElapsedTime(_start).TotalMilliseconds;

    /// <summary>Time since the run started.</summary>
    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(_start);

    private readonly DateTimeOffset _startWall = DateTimeOffset.UtcNow;

    /// <summary>
    /// A wall-clock moment (a client event's own time) in ms since the run started: the events are raised on a worker
    /// after the transition, and a check that orders them against operations needs when it happened, not when it was told.
    /// </summary>
    public double MsOf(DateTimeOffset moment) => (moment - _startWall).TotalMilliseconds;
}

/// <summary>
/// Collects the history of a run: every read, write, client event and fault. Each worker writes to its own log (no
/// contention on the hot path); <see cref="Reads"/> and <see cref="Writes"/> merge them once the workers are done.
/// </summary>
public sealed class HistoryRecorder
{
    private readonly ConcurrentQueue<WorkerLog> _logs = new();
    private readonly ConcurrentQueue<ClientEvent> _events = new();
    private readonly ConcurrentQueue<FlushEvent> _flushes = new();
    private readonly ConcurrentQueue<FaultEvent> _faults = new();
    private readonly ConcurrentDictionary<string, int> _errors = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _samples = new(StringComparer.Ordinal);
    private long _appErrors;

    /// <summary>A new log for one worker.</summary>
    public WorkerLog NewWorker()
    {
        var log = new WorkerLog(this);
        _logs.Enqueue(log);
        return log;
    }

    /// <summary>Every read, ordered by start.</summary>
    public IReadOnlyList<ReadRecord> Reads => _logs.SelectMany(l => l.ReadsList).OrderBy(r => r.StartMs).ToArray();

    /// <summary>Every write, ordered by completion.</summary>
    public IReadOnlyList<WriteRecord> Writes => _logs.SelectMany(l => l.WritesList).OrderBy(w => w.EndMs).ToArray();

    /// <summary>Every counter value handed out, ordered by time.</summary>
    public IReadOnlyList<CounterRecord> Counters => _logs.SelectMany(l => l.CountersList).OrderBy(c => c.AtMs).ToArray();

    /// <summary>Calls whose caller gave up mid-flight (deletes, sets and refills under <see cref="ChaosOptions.CancelRatio"/>).</summary>
    public long CancelledCalls => _logs.Sum(l => Volatile.Read(ref l.Cancelled));

    /// <summary>The client events, ordered by time.</summary>
    public IReadOnlyList<ClientEvent> Events => _events.OrderBy(e => e.AtMs).ToArray();

    /// <summary>The frontends' flushes, in time order.</summary>
    public IReadOnlyList<FlushEvent> Flushes => _flushes.OrderBy(e => e.AtMs).ToArray();

    /// <summary>The faults as applied.</summary>
    public IReadOnlyList<FaultEvent> Faults => _faults.OrderBy(f => f.StartMs).ToArray();

    /// <summary>Exceptions the application saw, by type.</summary>
    public IReadOnlyDictionary<string, int> ErrorsByType => _errors;

    /// <summary>The first message of each exception type the application saw.</summary>
    public IReadOnlyDictionary<string, string> ErrorSamples => _samples;

    /// <summary>The number of exceptions the application saw.</summary>
    public long AppErrors => Interlocked.Read(ref _appErrors);

    /// <summary>Operations so far (approximate while running).</summary>
    public long Operations => _logs.Sum(l => Volatile.Read(ref l.Count));

    /// <summary>Records a client event.</summary>
    public void Add(ClientEvent e) => _events.Enqueue(e);

    /// <summary>Records a frontend's flush.</summary>
    public void Add(FlushEvent e) => _flushes.Enqueue(e);

    /// <summary>Records a fault.</summary>
    public void Add(FaultEvent f) => _faults.Enqueue(f);

    /// <summary>Records an exception the application saw.</summary>
    public void AppError(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        Interlocked.Increment(ref _appErrors);
        _errors.AddOrUpdate(exception.GetType().Name, 1, (_, n) => n + 1);
        _samples.TryAdd(exception.GetType().Name, exception.Message);
    }

    /// <summary>One worker's log; used by that worker only.</summary>
    public sealed class WorkerLog
    {
        private readonly HistoryRecorder _owner;

        internal WorkerLog(HistoryRecorder owner) => _owner = owner;

        internal List<ReadRecord> ReadsList { get; } = new(4096);

        internal List<WriteRecord> WritesList { get; } = new(1024);

        internal List<CounterRecord> CountersList { get; } = [];

        internal long Count;

        internal long Cancelled;

        /// <summary>Records a counter value.</summary>
        public void Counter(CounterRecord counter)
        {
            CountersList.Add(counter);
            Volatile.Write(ref Count, Count + 1);
        }

        /// <summary>Records a call whose caller gave up.</summary>
        public void CallCancelled() => Volatile.Write(ref Cancelled, Cancelled + 1);

        /// <summary>Records a read.</summary>
        public void Read(ReadRecord read)
        {
            ReadsList.Add(read);
            Volatile.Write(ref Count, Count + 1);
        }

        /// <summary>Records a write.</summary>
        public void Write(WriteRecord write)
        {
            WritesList.Add(write);
            Volatile.Write(ref Count, Count + 1);
        }

        /// <summary>Records an exception the application saw.</summary>
        public void AppError(Exception exception) => _owner.AppError(exception);
    }
}
