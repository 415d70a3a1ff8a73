namespace Ballast.Pool;

/// <summary>
/// Work that nobody awaits is still observed: every fire-and-forget task of the pool goes through
/// <see cref="Observe"/>, whose failure is reported, never dropped; and events are raised on a worker, in order.
/// </summary>
internal sealed partial class ServerPool
{
    private SerialDispatcher? _dispatcher;

    private SerialDispatcher Dispatcher => _dispatcher ??= new SerialDispatcher(error => Events.OnBackgroundFailure("event subscriber", error));

    /// <summary>
    /// Observes <paramref name="task"/>: a failure is reported; a cancellation (a caller leaving, the pool shutting
    /// down) is none. What the work was is formatted only when a failure is reported, so observing a store on every
    /// call costs no string.
    /// </summary>
    /// <param name="task">The work nobody else awaits.</param>
    /// <param name="operation">What it is: "shared view read", "store", "invalidation"...</param>
    /// <param name="node">Its server, if it has one.</param>
    /// <param name="key">Its key, if it has one.</param>
    public void Observe(Task task, string operation, ServerNode? node = null, string? key = null)
    {
        if (task.IsCompletedSuccessfully)
        {
            return;
        }

        task.ContinueWith(
            static (done, state) => ((ObservedWork)state!).Report(done.Exception!.GetBaseException()),
            new ObservedWork(this, operation, node, key),
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

    /// <summary>A piece of observed work, kept unformatted until its failure is reported.</summary>
    private sealed class ObservedWork(ServerPool pool, string operation, ServerNode? node, string? key)
    {
        public void Report(Exception error)
        {
            if (error is OperationCanceledException)
            {
                return;
            }

            var what = key is null ? operation : $"{operation} of '{key}'";
            pool.ReportBackgroundFailure(node is null ? what : $"{what} on {node.EndPoint}", error);
        }
    }
}
