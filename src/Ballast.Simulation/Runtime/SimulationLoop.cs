using System.Diagnostics;

namespace Ballast.Simulation.Runtime;

/// <summary>
/// The event loop of one simulated world: a queue of work ordered by (virtual time, sequence number), a virtual clock
/// that only moves when the loop takes the next piece of work, and one seeded generator for every random choice. Runs
/// on one thread; every entry point checks it is called on that thread, and records a <see cref="DeterminismLeak"/>
/// (with its stack) when it is not, since work that arrives from another thread comes in an order no seed decides.
/// </summary>
internal sealed class SimulationLoop
{
    private readonly PriorityQueue<Work, Order> _queue = new(256, OrderComparer.Instance);
    private readonly List<DeterminismLeak> _leaks = [];
    private readonly Lock _foreignLock = new();
    private List<(long At, Work Work)>? _foreign;
    private long _sequence;
    private int _threadId;

    public SimulationLoop(int seed)
    {
        Seed = seed;
        Random = new Random(seed);
        _threadId = Environment.CurrentManagedThreadId;
    }

    public int Seed { get; }

    /// <summary>The one generator of the world: every random choice of the run is drawn from it, in event order.</summary>
    public Random Random { get; }

    /// <summary>The virtual time, in <see cref="TimeSpan"/> ticks since the world began.</summary>
    public long Now { get; private set; }

    /// <summary>Pieces of work run so far.</summary>
    public long Steps { get; private set; }

    /// <summary>Calls that came from another thread: each one is a source of nondeterminism to remove.</summary>
    public IReadOnlyList<DeterminismLeak> Leaks
    {
        get
        {
            lock (_foreignLock)
            {
                return [.. _leaks];
            }
        }
    }

    /// <summary>Makes the calling thread the loop's own (the thread that will run it).</summary>
    public void BindToCurrentThread() => _threadId = Environment.CurrentManagedThreadId;

    /// <summary>True on the loop's thread.</summary>
    public bool OnLoopThread => Environment.CurrentManagedThreadId == _threadId;

    /// <summary>Runs <paramref name="callback"/> at virtual time <paramref name="at"/> (never before now).</summary>
    public void At<TState>(long at, Action<TState> callback, TState state, string entryPoint)
    {
        var work = new Work(static (c, s) => ((Action<TState>)c!)((TState)s!), callback, state);
        Enqueue(Math.Max(at, Now), work, entryPoint);
    }

    /// <summary>Runs <paramref name="callback"/> at now, after what is already due now.</summary>
    public void Post(Action callback, string entryPoint)
        => Enqueue(Now, new Work(static (c, _) => ((Action)c!)(), callback, null), entryPoint);

    /// <summary>Runs <paramref name="callback"/> after <paramref name="delay"/>.</summary>
    public void After(TimeSpan delay, Action callback, string entryPoint)
        => Enqueue(Now + Math.Max(0, delay.Ticks), new Work(static (c, _) => ((Action)c!)(), callback, null), entryPoint);

    /// <summary>Records a call from another thread, if this is one; true when it is on the loop's thread.</summary>
    public bool CheckThread(string entryPoint)
    {
        if (OnLoopThread)
        {
            return true;
        }

        lock (_foreignLock)
        {
            _leaks.Add(new DeterminismLeak(entryPoint, Environment.CurrentManagedThreadId, Now, new StackTrace(1, false).ToString()));
        }

        return false;
    }

    /// <summary>Runs work until none is left before <paramref name="until"/>, or <paramref name="stop"/> says so.</summary>
    /// <returns>False when the queue ran dry.</returns>
    public bool RunUntil(long until, Func<bool>? stop = null)
    {
        while (true)
        {
            if (_foreign is not null)
            {
                DrainForeign();
            }

            if (stop?.Invoke() == true)
            {
                return true;
            }

            if (!_queue.TryPeek(out _, out var order))
            {
                Now = Math.Max(Now, until);
                return false;
            }

            if (order.At > until)
            {
                Now = until;
                return true;
            }

            var work = _queue.Dequeue();
            Now = order.At;
            Steps++;
            work.Run();
        }
    }

    private void Enqueue(long at, Work work, string entryPoint)
    {
        if (!CheckThread(entryPoint))
        {
            lock (_foreignLock)
            {
                (_foreign ??= []).Add((at, work));
            }

            return;
        }

        _queue.Enqueue(work, new Order(at, _sequence++));
    }

    private void DrainForeign()
    {
        List<(long At, Work Work)> foreign;
        lock (_foreignLock)
        {
            foreign = _foreign!;
            _foreign = null;
        }

        foreach (var (at, work) in foreign)
        {
            _queue.Enqueue(work, new Order(Math.Max(at, Now), _sequence++));
        }
    }

    private readonly record struct Work(Action<object?, object?> Invoke, object? Callback, object? State)
    {
        public void Run() => Invoke(Callback, State);
    }

    private readonly record struct Order(long At, long Sequence);

    private sealed class OrderComparer : IComparer<Order>
    {
        public static readonly OrderComparer Instance = new();

        public int Compare(Order x, Order y) => x.At != y.At ? x.At.CompareTo(y.At) : x.Sequence.CompareTo(y.Sequence);
    }
}
