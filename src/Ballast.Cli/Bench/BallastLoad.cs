using System.Buffers;
using System.Diagnostics;
using System.Globalization;

namespace Ballast.Cli.Bench;

/// <summary>What to run against Ballast in one measured phase; <c>ServerPid</c> is the server measured when this command started it (its CPU time per operation is reported), 0 for none.</summary>
internal sealed record LoadSettings(int Concurrency, TimeSpan Duration, int ValueSize, int Keys, double GetRatio, int Multiget, bool IntoBuffer = false, int ServerPid = 0);

/// <summary>The figures of one measured phase.</summary>
internal sealed record LoadResult(
    long Ops,
    long Errors,
    TimeSpan Elapsed,
    int KeysPerOp,
    double P50Ms,
    double P99Ms,
    double P999Ms,
    double MaxMs,
    double AllocBytesPerOp,
    long KeysRead = 0,
    long Hits = 0,
    TimeSpan ClientCpu = default,
    TimeSpan ServerCpu = default)
{
    public double OpsPerSecond => Ops / Elapsed.TotalSeconds;

    /// <summary>This process's CPU time per operation: the client's cost (the load loops' own is small, and counted).</summary>
    public double ClientCpuMicrosPerOp => Ops == 0 ? 0 : ClientCpu.TotalMicroseconds / Ops;

    /// <summary>The measured server's CPU time per operation; 0 when no server of this command's was measured.</summary>
    public double ServerCpuMicrosPerOp => Ops == 0 ? 0 : ServerCpu.TotalMicroseconds / Ops;

    /// <summary>
    /// The share of keys read that were found. The keys are preloaded, so anything under 1 is a miss the client served
    /// (a lapsed view lease, a server marked down), which costs no network and would otherwise pass for speed.
    /// </summary>
    public double HitRatio => KeysRead == 0 ? 1 : (double)Hits / KeysRead;

    public double KeysPerSecond => OpsPerSecond * KeysPerOp;
}

/// <summary>
/// N concurrent async loops against one <see cref="MemcachedClient"/>. Each loop records its latencies into the histogram
/// of the thread running it (no lock, no allocation per operation); the histograms are merged when the phase ends.
/// </summary>
internal static class BallastLoad
{
    /// <summary>Key i: 16 bytes, the key size memcaslap is configured with too.</summary>
    public static string KeyName(int i) => "bk" + i.ToString("D14", CultureInfo.InvariantCulture);

    public static string[] KeyNames(int count) => Enumerable.Range(0, count).Select(KeyName).ToArray();

    public static byte[] Value(int size)
    {
        var value = new byte[size];
        value.AsSpan().Fill((byte)'x');
        return value;
    }

    /// <summary>Stores every key, 64 at a time.</summary>
    public static async Task PreloadAsync(MemcachedClient client, string[] keys, byte[] value, CancellationToken cancellationToken)
    {
        for (var i = 0; i < keys.Length; i += 64)
        {
            var batch = keys.Skip(i).Take(64).Select(k => client.SetAsync(k, value, cancellationToken: cancellationToken).AsTask());
            await Task.WhenAll(batch).ConfigureAwait(false);
        }
    }

    /// <summary>Runs one phase for its duration; the allocation figure covers only this phase.</summary>
    public static Task<LoadResult> RunAsync(MemcachedClient client, string[] keys, byte[] value, LoadSettings settings, CancellationToken cancellationToken)
        => RunInterleavedAsync(client, keys, value, settings, 1, null, cancellationToken);

    /// <summary>
    /// Runs the phase in <paramref name="slices"/> equal slices and, after each, lets <paramref name="between"/> run
    /// (a peer measured for as long): both then see the machine in the same state, so a slowdown of the machine
    /// during the phase weighs on both alike. The figures cover Ballast's slices only.
    /// </summary>
    public static async Task<LoadResult> RunInterleavedAsync(
        MemcachedClient client,
        string[] keys,
        byte[] value,
        LoadSettings settings,
        int slices,
        Func<TimeSpan, Task>? between,
        CancellationToken cancellationToken)
    {
        var slice = settings with { Duration = settings.Duration / slices };
        var merged = new LatencyHistogram();
        long ops = 0, errors = 0, allocated = 0, keysRead = 0, hits = 0;
        var elapsed = TimeSpan.Zero;
        var clientCpu = TimeSpan.Zero;
        var serverCpu = TimeSpan.Zero;
        for (var i = 0; i < slices; i++)
        {
            var clientBefore = ProcessCpu.Self();
            var serverBefore = settings.ServerPid > 0 ? ProcessCpu.Of(settings.ServerPid) : TimeSpan.Zero;
            var (sliceOps, sliceErrors, sliceElapsed, sliceAllocated, sliceKeysRead, sliceHits) = await RunSliceAsync(client, keys, value, slice, merged, cancellationToken).ConfigureAwait(false);
            clientCpu += ProcessCpu.Self() - clientBefore;
            serverCpu += settings.ServerPid > 0 ? ProcessCpu.Of(settings.ServerPid) - serverBefore : TimeSpan.Zero;
            ops += sliceOps;
            keysRead += sliceKeysRead;
            hits += sliceHits;
            errors += sliceErrors;
            elapsed += sliceElapsed;
            allocated += sliceAllocated;
            if (between is not null)
            {
                await between(slice.Duration).ConfigureAwait(false);
            }
        }

        return new LoadResult(
            ops,
            errors,
            elapsed,
            Math.Max(1, settings.Multiget),
            merged.PercentileMilliseconds(50),
            merged.PercentileMilliseconds(99),
            merged.PercentileMilliseconds(99.9),
            merged.MaxNanoseconds / 1e6,
            ops == 0 ? 0 : (double)allocated / ops,
            keysRead,
            hits,
            clientCpu,
            serverCpu);
    }

    private static async Task<(long Ops, long Errors, TimeSpan Elapsed, long Allocated, long KeysRead, long Hits)> RunSliceAsync(
        MemcachedClient client,
        string[] keys,
        byte[] value,
        LoadSettings settings,
        LatencyHistogram merged,
        CancellationToken cancellationToken)
    {
        var state = new RunState(client, keys, value, settings, cancellationToken);
        var workers = new Worker[settings.Concurrency];
        for (var i = 0; i < workers.Length; i++)
        {
            workers[i] = new Worker(settings.Multiget, settings.IntoBuffer ? settings.ValueSize : 0, (ulong)(i + 1) * 0x9E3779B97F4A7C15UL);
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var started = Stopwatch.GetTimestamp();
        var tasks = new Task[workers.Length];
        for (var i = 0; i < workers.Length; i++)
        {
            var worker = workers[i];
            tasks[i] = Task.Run(() => worker.LoopAsync(state), CancellationToken.None);
        }

        try
        {
            await Task.Delay(settings.Duration, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            state.Stop = true;
        }

        // Bounded: an operation waits at most the client's operation timeout, so the loops end soon after the stop.
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None).ConfigureAwait(false);
        var elapsed = Stopwatch.GetElapsedTime(started);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;

        long ops = 0, errors = 0, keysRead = 0, hits = 0;
        foreach (var histogram in state.Latencies.Values)
        {
            merged.Add(histogram);
        }

        state.Latencies.Dispose();
        foreach (var worker in workers)
        {
            ops += worker.Ops;
            errors += worker.Errors;
            keysRead += worker.KeysRead;
            hits += worker.Hits;
        }

        return (ops, errors, elapsed, allocated, keysRead, hits);
    }

    private sealed class RunState(MemcachedClient client, string[] keys, byte[] value, LoadSettings settings, CancellationToken cancellationToken)
    {
        public MemcachedClient Client { get; } = client;

        public string[] Keys { get; } = keys;

        public ReadOnlyMemory<byte> Value { get; } = value;

        public LoadSettings Settings { get; } = settings;

        public CancellationToken CancellationToken { get; } = cancellationToken;

        /// <summary>
        /// Latencies, one histogram per thread rather than per loop: 256 loops' histograms (30 KB each) do not stay
        /// in the cache, a thread's few do. A loop records on whichever thread runs it, and only that thread writes
        /// that thread's histogram.
        /// </summary>
        public ThreadLocal<LatencyHistogram> Latencies { get; } = new(() => new LatencyHistogram(), trackAllValues: true);

        // Read by every loop after each operation; written once.
        public volatile bool Stop;
    }

    private sealed class Worker(int multiget, int bufferSize, ulong seed)
    {
        private readonly string[] _batch = new string[Math.Max(1, multiget)];

        // Reused for every get when reading into a buffer, as an application would reuse one.
        private readonly ArrayBufferWriter<byte>? _buffer = bufferSize > 0 ? new ArrayBufferWriter<byte>(bufferSize) : null;
        private ulong _random = seed;

        public long Ops { get; private set; }

        public long Errors { get; private set; }

        public long KeysRead { get; private set; }

        public long Hits { get; private set; }

        public async Task LoopAsync(RunState state)
        {
            var client = state.Client;
            var keys = state.Keys;
            var settings = state.Settings;
            var getThreshold = (ulong)(settings.GetRatio * (1UL << 53));

            // A token of this loop's own that can fire, as each web request has its own: one token shared by every
            // loop would make its registrations a lock all of them take, which no application has.
            using var requestAborted = CancellationTokenSource.CreateLinkedTokenSource(state.CancellationToken);
            var cancellationToken = requestAborted.Token;

            // The loop is closed: an operation starts when the one before it ended, so one clock reading serves as the
            // end of one and the start of the next.
            var start = Stopwatch.GetTimestamp();
            while (!state.Stop)
            {
                var roll = Next();
                try
                {
                    if (settings.Multiget > 1)
                    {
                        for (var i = 0; i < _batch.Length; i++)
                        {
                            _batch[i] = keys[(int)(Next() % (ulong)keys.Length)];
                        }

                        var found = await client.GetManyAsync(_batch, cancellationToken).ConfigureAwait(false);

                        // Random keys repeat within a batch (about 1% of 20 of 1000); the result has each once.
                        KeysRead += found.Count;
                        foreach (var result in found.Values)
                        {
                            Hits += result.IsHit ? 1 : 0;
                        }
                    }
                    else if ((roll >> 11) < getThreshold && _buffer is not null)
                    {
                        _buffer.ResetWrittenCount();
                        var result = await client.GetAsync(keys[(int)(roll % (ulong)keys.Length)], _buffer, cancellationToken).ConfigureAwait(false);
                        KeysRead++;
                        Hits += result.IsHit ? 1 : 0;
                    }
                    else if ((roll >> 11) < getThreshold)
                    {
                        var result = await client.GetAsync(keys[(int)(roll % (ulong)keys.Length)], cancellationToken).ConfigureAwait(false);
                        KeysRead++;
                        Hits += result.IsHit ? 1 : 0;
                    }
                    else
                    {
                        await client.SetAsync(keys[(int)(roll % (ulong)keys.Length)], state.Value, cancellationToken: cancellationToken).ConfigureAwait(false);
                    }
                }
                catch (MemcachedException)
                {
                    Errors++;
                }

                var end = Stopwatch.GetTimestamp();
                state.Latencies.Value!.RecordTimestamps(start, end);
                start = end;
                Ops++;
            }
        }

        private ulong Next()
        {
            // xorshift64*: cheap, no allocation, per worker.
            var x = _random;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            _random = x;
            return x * 0x2545F4914F6CDD1DUL;
        }
    }
}
