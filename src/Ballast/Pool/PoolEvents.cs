namespace Ballast.Pool;

/// <summary>
/// Where the parts of a pool report: server transitions (raised on a worker, in order, never inline on the thread
/// that holds a lock or serves a caller) and work that nobody awaits, which is still observed: every fire-and-forget
/// task goes through <see cref="Observe"/>, whose failure is reported, never dropped.
/// </summary>
internal sealed class PoolEvents
{
    private readonly IServerEvents _sink;
    private readonly TimeProvider _time;
    private readonly SerialDispatcher _dispatcher;

    public PoolEvents(IServerEvents sink, TimeProvider time)
    {
        _sink = sink;
        _time = time;
        _dispatcher = new SerialDispatcher(error => sink.OnBackgroundFailure("event subscriber", error));
    }

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
        => ObserveWork(task, new ObservedWork(this, operation, node, key, callerLeft: null));

    /// <summary>
    /// Observes work a caller awaits with <paramref name="callerLeft"/>: its failure is reported only if the caller
    /// had left (the token fired) by the time it failed. A caller that waited to the end got the failure itself, and a
    /// second report would log one failure twice.
    /// </summary>
    public void ObserveIfCallerLeft(Task task, CancellationToken callerLeft, string operation, ServerNode? node = null, string? key = null)
    {
        if (callerLeft.CanBeCanceled)
        {
            ObserveWork(task, new ObservedWork(this, operation, node, key, callerLeft));
        }
    }

    private static void ObserveWork(Task task, ObservedWork work)
    {
        if (task.IsCompletedSuccessfully)
        {
            return;
        }

        task.ContinueWith(
            static (done, state) => ((ObservedWork)state!).Report(done.Exception!.GetBaseException()),
            work,
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>Reports a failure of background work.</summary>
    public void ReportBackgroundFailure(string operation, Exception error) => _sink.OnBackgroundFailure(operation, error);

    /// <summary>Raises the client's <c>ServerFailed</c> for <paramref name="node"/>.</summary>
    public void ServerFailed(ServerNode node, ServerFailureReason reason, long epoch, string? detail)
    {
        var args = new ServerFailedEventArgs(node.EndPoint, reason, _time.GetUtcNow(), epoch, detail);
        _dispatcher.Post(() => _sink.OnServerFailed(args));
    }

    /// <summary>Raises the client's <c>ServerRecovered</c> for <paramref name="node"/>.</summary>
    public void ServerRecovered(ServerNode node, long epoch, bool flushedHere, TimeSpan downFor)
    {
        var args = new ServerRecoveredEventArgs(node.EndPoint, _time.GetUtcNow(), epoch, flushedHere, downFor);
        _dispatcher.Post(() => _sink.OnServerRecovered(args));
    }

    /// <summary>Raises the client's <c>ServerFlushed</c> for <paramref name="node"/>: every flush is counted and told.</summary>
    public void ServerFlushed(ServerNode node, ServerFlushReason reason, long epoch)
    {
        var args = new ServerFlushedEventArgs(node.EndPoint, reason, _time.GetUtcNow(), epoch);
        _dispatcher.Post(() => _sink.OnServerFlushed(args));
    }

    /// <summary>A piece of observed work, kept unformatted until its failure is reported.</summary>
    private sealed class ObservedWork(PoolEvents events, string operation, ServerNode? node, string? key, CancellationToken? callerLeft)
    {
        public void Report(Exception error)
        {
            if (error is OperationCanceledException || callerLeft is { IsCancellationRequested: false })
            {
                return;
            }

            var what = key is null ? operation : $"{operation} of '{key}'";
            events.ReportBackgroundFailure(node is null ? what : $"{what} on {node.EndPoint}", error);
        }
    }
}
