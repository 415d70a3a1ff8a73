namespace Ballast.SharedView;

/// <summary>
/// Waits for replica operations the way a quorum protocol needs: until all have finished, or until enough have
/// succeeded and a short grace has passed for the rest. A stalled replica then costs the grace, not a whole timeout,
/// and the slow operations go on in the background (their results are simply not waited for).
/// </summary>
internal static class QuorumWait
{
    public static async Task WhenQuorumAsync<T>(Task<T>[] operations, Func<T, bool> succeeded, int quorum, TimeSpan grace, TimeProvider time, CancellationToken cancellationToken)
    {
        var reached = new TaskCompletionSource(Runtime.WorkScheduler.Current.CompletionOptions);
        var successes = 0;
        foreach (var operation in operations)
        {
            _ = operation.ContinueWith(
                t =>
                {
                    if (t.IsCompletedSuccessfully && succeeded(t.Result) && Interlocked.Increment(ref successes) >= quorum)
                    {
                        reached.TrySetResult();
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }

        var all = Task.WhenAll(operations);
        if (await Task.WhenAny(all, reached.Task).ConfigureAwait(false) != all)
        {
            await Task.WhenAny(all, Runtime.WorkScheduler.Current.Delay(grace, time, cancellationToken)).ConfigureAwait(false);
        }
    }
}
