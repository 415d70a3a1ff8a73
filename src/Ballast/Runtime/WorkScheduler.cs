namespace Ballast.Runtime;

/// <summary>
/// Where the client's own work goes when it leaves the caller's stack: a send handed off as a work item, the
/// background loop, the events' worker, a yield, and whether an awaited result resumes its awaiter inline or on a
/// worker. In production that is the thread pool (<see cref="ThreadPoolScheduler"/>), exactly as the code did before
/// the seam existed. The simulator installs its own on the one thread that runs a simulated world, so that every
/// continuation runs on that thread, in an order decided by its seed.
/// </summary>
/// <remarks>
/// Ambient per thread, as <see cref="SynchronizationContext"/> is: whether continuations may run inline is a property
/// of the thread that runs them (a single-threaded event loop), not of a client. Nothing in production installs one.
/// </remarks>
internal abstract class WorkScheduler
{
    [ThreadStatic]
    private static WorkScheduler? _installed;

    /// <summary>The scheduler installed on this thread, or the thread pool.</summary>
    public static WorkScheduler Current => _installed ?? ThreadPoolScheduler.Instance;

    /// <summary>
    /// True when an awaited result must resume its awaiter on a worker, not inline on the completing thread (a read
    /// loop must not run callers' code). False only on a simulation thread, where inline is the deterministic choice.
    /// </summary>
    public abstract bool RunsContinuationsAsynchronously { get; }

    /// <summary>The options for a <see cref="TaskCompletionSource"/> that follow <see cref="RunsContinuationsAsynchronously"/>.</summary>
    public TaskCreationOptions CompletionOptions
        => RunsContinuationsAsynchronously ? TaskCreationOptions.RunContinuationsAsynchronously : TaskCreationOptions.None;

    /// <summary>Installs <paramref name="scheduler"/> on the calling thread until the returned scope is disposed.</summary>
    public static InstalledScheduler Install(WorkScheduler scheduler)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        var previous = _installed;
        _installed = scheduler;
        return new InstalledScheduler(previous);
    }

    /// <summary>Runs <paramref name="item"/> later, off the caller's stack.</summary>
    public abstract void Queue(IThreadPoolWorkItem item);

    /// <summary>Runs <paramref name="callback"/> with <paramref name="state"/> later, off the caller's stack.</summary>
    public abstract void Post<TState>(Action<TState> callback, TState state);

    /// <summary>Starts long-running background work off the caller's stack (<see cref="Task.Run(Func{Task})"/>).</summary>
    public abstract Task Run(Func<Task> work);

    /// <summary>An awaitable that resumes off the caller's stack (<see cref="Task.Yield"/>).</summary>
    public abstract SchedulerYield Yield();

    /// <summary>
    /// <see cref="Task.Delay(TimeSpan, TimeProvider, CancellationToken)"/>. A separate seam because a delay cancelled
    /// through its token resumes its awaiter on the thread pool (measured on .NET 10), which a simulation must not.
    /// </summary>
    public abstract Task Delay(TimeSpan delay, TimeProvider time, CancellationToken cancellationToken);

    /// <summary>
    /// <see cref="Task{TResult}.WaitAsync(CancellationToken)"/> of a task other callers may be awaiting too. A separate
    /// seam because when several awaiters wait on one task, the runtime resumes all but the first on the thread pool.
    /// </summary>
    public abstract Task<T> WaitAsync<T>(Task<T> task, CancellationToken cancellationToken);

    /// <summary>Cancels <paramref name="source"/> without running its callbacks on the caller's stack where that matters.</summary>
    public abstract Task CancelAsync(CancellationTokenSource source);

    /// <summary>Posts the continuation of a <see cref="SchedulerYield"/>.</summary>
    internal abstract void PostContinuation(Action continuation, bool flowExecutionContext);

    /// <summary>Restores the scheduler that was installed before, when disposed.</summary>
    internal readonly struct InstalledScheduler(WorkScheduler? previous) : IDisposable
    {
        public void Dispose() => _installed = previous;
    }
}
