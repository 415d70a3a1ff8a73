namespace Ballast.Runtime;

/// <summary>The production scheduler: the thread pool, with exactly the calls the client made before the seam.</summary>
internal sealed class ThreadPoolScheduler : WorkScheduler
{
    private ThreadPoolScheduler()
    {
    }

    public static ThreadPoolScheduler Instance { get; } = new();

    public override bool RunsContinuationsAsynchronously => true;

    public override void Queue(IThreadPoolWorkItem item) => ThreadPool.UnsafeQueueUserWorkItem(item, preferLocal: false);

    public override void Post<TState>(Action<TState> callback, TState state) => ThreadPool.UnsafeQueueUserWorkItem(callback, state, preferLocal: false);

    public override Task Run(Func<Task> work) => Task.Run(work);

    public override SchedulerYield Yield() => new(null);

    public override Task Delay(TimeSpan delay, TimeProvider time, CancellationToken cancellationToken) => Task.Delay(delay, time, cancellationToken);

    public override Task<T> WaitAsync<T>(Task<T> task, CancellationToken cancellationToken) => task.WaitAsync(cancellationToken);

    public override Task CancelAsync(CancellationTokenSource source) => source.CancelAsync();

    internal override void PostContinuation(Action continuation, bool flowExecutionContext)
    {
        // What Task.Yield's awaiter does outside any synchronization context or task scheduler.
        if (flowExecutionContext)
        {
            Task.Yield().GetAwaiter().OnCompleted(continuation);
        }
        else
        {
            Task.Yield().GetAwaiter().UnsafeOnCompleted(continuation);
        }
    }
}
