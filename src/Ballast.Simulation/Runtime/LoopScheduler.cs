using Ballast.Runtime;

namespace Ballast.Simulation.Runtime;

/// <summary>
/// The client's <see cref="WorkScheduler"/> inside a simulated world: work handed off goes into the loop's queue at
/// the current virtual time, and awaited results resume their awaiters inline, so everything stays on the loop's
/// thread in an order the seed decides.
/// </summary>
internal sealed class LoopScheduler(SimulationLoop loop) : WorkScheduler
{
    public override bool RunsContinuationsAsynchronously => false;

    public override void Queue(IThreadPoolWorkItem item) => loop.Post(item.Execute, "WorkScheduler.Queue");

    public override void Post<TState>(Action<TState> callback, TState state) => loop.At(loop.Now, callback, state, "WorkScheduler.Post");

    public override Task Run(Func<Task> work) => RunLaterAsync(work);

    public override SchedulerYield Yield() => new(this);

    /// <summary>A delay whose completion and cancellation both resume the awaiter inline, on the loop's thread.</summary>
    public override Task Delay(TimeSpan delay, TimeProvider time, CancellationToken cancellationToken)
    {
        loop.CheckThread("WorkScheduler.Delay");
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled(cancellationToken);
        }

        if (delay == TimeSpan.Zero)
        {
            return Task.CompletedTask;
        }

        return new LoopDelay(delay, time, cancellationToken).Task;
    }

    /// <summary>
    /// Each caller gets a task of its own, completed inline when <paramref name="task"/> completes (a token's own
    /// promise does that already): the runtime inlines only the first await continuation of a task.
    /// </summary>
    public override Task<T> WaitAsync<T>(Task<T> task, CancellationToken cancellationToken)
    {
        if (task.IsCompleted || cancellationToken.CanBeCanceled)
        {
            return task.WaitAsync(cancellationToken);
        }

        var own = new TaskCompletionSource<T>();
        _ = task.ContinueWith(
            static (done, state) =>
            {
                var target = (TaskCompletionSource<T>)state!;
                if (done.IsCanceled)
                {
                    target.TrySetCanceled();
                }
                else if (done.IsFaulted)
                {
                    target.TrySetException(done.Exception!.InnerExceptions);
                }
                else
                {
                    target.TrySetResult(done.Result);
                }
            },
            own,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return own.Task;
    }

    public override Task CancelAsync(CancellationTokenSource source)
    {
        loop.CheckThread("WorkScheduler.CancelAsync");
        source.Cancel();
        return Task.CompletedTask;
    }

    internal override void PostContinuation(Action continuation, bool flowExecutionContext) => loop.Post(continuation, "WorkScheduler.Yield");

    /// <summary>One delay: a timer that completes it, a registration that cancels it, whichever comes first.</summary>
    private sealed class LoopDelay
    {
        private readonly TaskCompletionSource _done = new();
        private readonly ITimer? _timer;
        private readonly CancellationTokenRegistration _registration;

        public LoopDelay(TimeSpan delay, TimeProvider time, CancellationToken cancellationToken)
        {
            if (delay != Timeout.InfiniteTimeSpan)
            {
                _timer = time.CreateTimer(static s => ((LoopDelay)s!).Complete(null), this, delay, Timeout.InfiniteTimeSpan);
            }

            if (cancellationToken.CanBeCanceled)
            {
                _registration = cancellationToken.UnsafeRegister(static (s, token) => ((LoopDelay)s!).Complete(token), this);
            }
        }

        public Task Task => _done.Task;

        private void Complete(CancellationToken? cancelled)
        {
            var completed = cancelled is { } token ? _done.TrySetCanceled(token) : _done.TrySetResult();
            if (completed)
            {
                _timer?.Dispose();
                _registration.Dispose();
            }
        }
    }

    private async Task RunLaterAsync(Func<Task> work)
    {
        await Yield();
        await work().ConfigureAwait(false);
    }
}
