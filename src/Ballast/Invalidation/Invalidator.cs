using Ballast.Diagnostics;
using Ballast.Pool;
using Ballast.Protocol;
using Ballast.Protocol.Commands;

namespace Ballast.Invalidation;

/// <summary>
/// Confirm-or-fence: runs a mutation whose loss would leave an old value readable (a delete, a mark-stale, a
/// tombstone) and makes sure of its fate. If the first attempt fails it is journaled and retried until
/// <see cref="InvalidationOptions.ConfirmTimeout"/>; if it is still unconfirmed, the server is fenced for every frontend.
/// </summary>
/// <remarks>
/// A caller's token cancels the caller's wait, never the invalidation: an aborted HTTP request must not leave a
/// deleted value readable by other frontends. So the work runs on the pool's own lifetime (it stops only when the
/// client is disposed, and what is owed then stays in the journal), and <see cref="Detach{T}"/> hands the caller a
/// task it may stop waiting for. Work the caller left is observed: its failure is reported, not dropped; work the caller
/// waited for is not reported again.
/// </remarks>
internal sealed class Invalidator
{
    private readonly ServerPool _pool;

    public Invalidator(ServerPool pool) => _pool = pool;

    /// <summary>
    /// Lets the caller wait for <paramref name="work"/> until <paramref name="cancellationToken"/> fires, while the work
    /// itself goes on to its end. Costs nothing more when the token cannot be cancelled (the common hot path).
    /// </summary>
    /// <param name="work">The work, already started.</param>
    /// <param name="cancellationToken">The caller's token.</param>
    /// <param name="operation">What the work is (a store, an invalidation), for the report of its failure.</param>
    /// <param name="key">Its key.</param>
    /// <param name="node">Its server, when it has one.</param>
    public ValueTask<T> Detach<T>(ValueTask<T> work, CancellationToken cancellationToken, string operation, string key, ServerNode? node = null)
    {
        if (!cancellationToken.CanBeCanceled || work.IsCompleted)
        {
            return work;
        }

        // The caller's wait (a task that also ends when the token fires). The work's failure is reported by the pool
        // only if the caller left before it ended: a caller that waited to the end got the failure itself, and a
        // second report would log one failure twice.
        var task = work.AsTask();
        var wait = task.WaitAsync(cancellationToken);
        wait.ContinueWith(
            static (_, state) => ((LeftWork)state!).Observe(),
            new LeftWork(_pool, task, operation, node, key),
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnCanceled | TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return new ValueTask<T>(wait);
    }

    /// <summary>Work whose caller stopped waiting: from then on the pool observes it.</summary>
    private sealed class LeftWork(ServerPool pool, Task task, string operation, ServerNode? node, string key)
    {
        public void Observe() => pool.Observe(task, operation, node, key);
    }

    /// <summary>
    /// Sends <paramref name="command"/> to <paramref name="node"/> and returns its answer, or fences the server when
    /// the answer cannot be had within the confirm timeout (then <c>Fenced</c> is true and the result is default).
    /// Either way the old value can no longer be read once this returns, unless it throws (no quorum to fence with:
    /// the journal keeps retrying).
    /// </summary>
    /// <param name="node">The server.</param>
    /// <param name="key">The key the mutation invalidates.</param>
    /// <param name="command">Makes a fresh command for each attempt.</param>
    /// <param name="callerLeft">
    /// The caller's token. It never cancels this work; when it fires, the caller's call returns, and the bound B is
    /// measured from that moment. So from then on the answer must come within a quarter of the bound, or the server
    /// is fenced at once, with no retries: other frontends then stop reading it within the bound of the caller's return.
    /// </param>
    public async ValueTask<(T Result, bool Fenced)> ConfirmOrFenceAsync<T>(ServerNode node, CacheKey key, Func<MetaCommand<T>> command, CancellationToken callerLeft = default)
    {
        var lifetime = _pool.ShutdownToken;

        // Sent even when the view says the server is fenced: the fence may be being lifted right now (a failback
        // flushed it and is about to readmit it), and an invalidation that lands is safe whatever the view says.
        if (_pool.CanReach(node))
        {
            try
            {
                return (await AttemptAsync(node, command(), callerLeft).ConfigureAwait(false), false);
            }
            catch (MemcachedException error) when (error is not MemcachedServerErrorException)
            {
                _pool.Options.Logger.InvalidationJournaled(error, node.EndPoint, key.Text);
                var pending = _pool.Journal.Add(node.EndPoint.ToString(), key.Text, _pool.View[node.Index].Epoch);
                var time = _pool.Time;
                var deadline = time.GetTimestamp() + (long)(_pool.Options.Invalidation.ConfirmTimeout.TotalSeconds * time.TimestampFrequency);
                while (_pool.CanReach(node) && time.GetTimestamp() < deadline && !callerLeft.IsCancellationRequested)
                {
                    try
                    {
                        var remaining = TimeSpan.FromSeconds((deadline - time.GetTimestamp()) / (double)time.TimestampFrequency);
                        var result = await node.ExecuteAsync(command(), CancellationToken.None, evenIfDown: true).AsTask().WaitAsync(remaining, time, lifetime).ConfigureAwait(false);
                        _pool.Journal.Remove(pending);
                        return (result, false);
                    }
                    catch (Exception retryError) when (retryError is MemcachedException or TimeoutException)
                    {
                        await Task.Delay(RetryPause, time, lifetime).ConfigureAwait(false);
                    }
                }

                if (await _pool.FenceAsync(node, ServerFailureReason.InvalidationUnconfirmed, error.Message, lifetime).ConfigureAwait(false))
                {
                    return (default!, true);
                }

                throw new ServerUnavailableException(
                    $"Server {node.EndPoint}: the invalidation of key '{key.Text}' could not be confirmed, and the server could not be fenced in the shared view (no quorum of servers answered); the journal keeps retrying it.",
                    node.EndPoint,
                    error);
            }
        }

        // Down here or in the view: it will be flushed before anyone reads it again, provided the fence is published.
        if (await _pool.FenceAsync(node, ServerFailureReason.InvalidationUnconfirmed, null, lifetime).ConfigureAwait(false))
        {
            return (default!, true);
        }

        _pool.Journal.Add(node.EndPoint.ToString(), key.Text, _pool.View[node.Index].Epoch);
        throw new ServerUnavailableException(
            $"Server {node.EndPoint} is down and could not be fenced in the shared view (no quorum of servers answered), so the invalidation of key '{key.Text}' is owed; the journal keeps retrying it.",
            node.EndPoint);
    }

    /// <summary>A delete of a key on one server, confirmed or fenced, never cancelled by the caller (see <see cref="ConfirmOrFenceAsync{T}"/>).</summary>
    public async ValueTask<DeleteStatus> DeleteAsync(ServerNode node, CacheKey key, CancellationToken callerLeft = default)
    {
        var (status, fenced) = await ConfirmOrFenceAsync(node, key, () => new DeleteCommand(key), callerLeft).ConfigureAwait(false);
        return fenced ? DeleteStatus.ServerFenced : status;
    }

    /// <summary>
    /// A mutation whose fate may become unknown (a store, a refill): never cancelled by the caller, so it ends with its
    /// real outcome; if that outcome is unknown (timeout, lost connection, or no answer within a quarter of the bound
    /// after the caller left) the key is invalidated, confirmed or fenced, before the error is rethrown, so neither
    /// the old value nor a half-applied new one can be read.
    /// </summary>
    public async ValueTask<T> MutateOrInvalidateAsync<T>(ServerNode node, CacheKey key, MetaCommand<T> command, CancellationToken callerLeft = default)
    {
        try
        {
            return await AttemptAsync(node, command, callerLeft, evenIfDown: false).ConfigureAwait(false);
        }
        catch (MemcachedException error) when (error is not MemcachedServerErrorException)
        {
            await DeleteAsync(node, key, callerLeft).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// One attempt on the pool's lifetime. While the caller waits it takes as long as the connection allows (the
    /// operation timeout); once the caller has left, at most a quarter of the bound more, then it counts as failed
    /// (its answer, if one comes, is still consumed by the connection and changes nothing).
    /// </summary>
    private ValueTask<T> AttemptAsync<T>(ServerNode node, MetaCommand<T> command, CancellationToken callerLeft, bool evenIfDown = true)
    {
        // The common case, no token that can fire: the command's own task, with no state machine of its own. The
        // command takes no token at all: it ends with its answer, its connection's timeout, or the client's disposal
        // (which fails what is in flight), and registering each store on the pool's shutdown token cost an allocation
        // and a contended lock per write.
        var answer = node.ExecuteAsync(command, CancellationToken.None, evenIfDown);
        return !callerLeft.CanBeCanceled || answer.IsCompleted ? answer : AttemptAfterCallerMayLeaveAsync(node, command, answer, callerLeft);
    }

    private async ValueTask<T> AttemptAfterCallerMayLeaveAsync<T>(ServerNode node, MetaCommand<T> command, ValueTask<T> answer, CancellationToken callerLeft)
    {
        var lifetime = _pool.ShutdownToken;
        var task = answer.AsTask();
        try
        {
            return await task.WaitAsync(callerLeft).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (callerLeft.IsCancellationRequested && !lifetime.IsCancellationRequested)
        {
            try
            {
                return await task.WaitAsync(_pool.Options.SharedView.RefreshInterval, _pool.Time, lifetime).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Its failure (the connection closed for the timeout) is expected, and the timeout below says it all.
                _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                throw new MemcachedTimeoutException(
                    $"Server {node.EndPoint} did not answer for key '{command.Key}' within {_pool.Options.SharedView.RefreshInterval.TotalMilliseconds:0} ms after the caller cancelled; the invalidation no longer waits for it.",
                    node.EndPoint);
            }
        }
    }

    private static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(10);
}
