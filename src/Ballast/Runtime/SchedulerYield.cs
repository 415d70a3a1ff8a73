using System.Runtime.CompilerServices;

namespace Ballast.Runtime;

/// <summary>
/// The awaitable of <see cref="WorkScheduler.Yield"/>: resumes on the scheduler it came from, or as
/// <see cref="Task.Yield"/> does when that is the thread pool.
/// </summary>
internal readonly struct SchedulerYield(WorkScheduler? scheduler) : ICriticalNotifyCompletion
{
    public bool IsCompleted => false;

    public SchedulerYield GetAwaiter() => this;

    public void GetResult()
    {
    }

    public void OnCompleted(Action continuation) => Target.PostContinuation(continuation, flowExecutionContext: true);

    public void UnsafeOnCompleted(Action continuation) => Target.PostContinuation(continuation, flowExecutionContext: false);

    private WorkScheduler Target => scheduler ?? ThreadPoolScheduler.Instance;
}
