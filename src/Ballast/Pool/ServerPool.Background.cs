namespace Ballast.Pool;

/// <summary>
/// Work that nobody awaits is still observed: every fire-and-forget task of the pool goes through
/// <see cref="Observe"/>, whose failure is reported, never dropped; and events are raised on a worker, in order.
/// </summary>
internal sealed partial class ServerPool
{
    private SerialDispatcher? _dispatcher;

    private SerialDispatcher Dispatcher => _dispatcher ??= new SerialDispatcher(error => Events.OnBackgroundFailure("event subscriber", error));

    /// <summary>Observes <paramref name="task"/>: a failure is reported; a cancellation (a caller leaving, the pool shutting down) is none.</summary>
    public void Observe(Task task, string operation)
    {
        if (task.IsCompletedSuccessfully)
        {
            return;
        }

        task.ContinueWith(
            static (done, state) =>
            {
                var (pool, what) = ((ServerPool, string))state!;
                if (done.Exception?.GetBaseException() is { } error and not OperationCanceledException)
                {
                    pool.ReportBackgroundFailure(what, error);
                }
            },
            (this, operation),
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>Reports a failure of background work.</summary>
    public void ReportBackgroundFailure(string operation, Exception error) => Events.OnBackgroundFailure(operation, error);

    private void RaiseFailed(ServerNode node, ServerFailureReason reason, long epoch, string? detail)
    {
        var args = new ServerFailedEventArgs(node.EndPoint, reason, _time.GetUtcNow(), epoch, detail);
        Dispatcher.Post(() => Events.OnServerFailed(args));
    }

    private void RaiseRecovered(ServerNode node, long epoch, bool flushedHere, TimeSpan downFor)
    {
        var args = new ServerRecoveredEventArgs(node.EndPoint, _time.GetUtcNow(), epoch, flushedHere, downFor);
        Dispatcher.Post(() => Events.OnServerRecovered(args));
    }
}
