using Ballast.Diagnostics;
using Ballast.Pool;
using Ballast.Protocol;
using Ballast.Protocol.Commands;
using Ballast.SharedView;

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
    private readonly InvalidationFence _fence;
    private readonly InvalidationJournal _journal;
    private readonly ServerAccess _access;
    private readonly PoolEvents _events;
    private readonly MemcachedClientOptions _options;
    private readonly TimeProvider _time;
    private readonly CancellationToken _lifetime;

    /// <param name="fencer">Fences a server whose invalidation could not be confirmed.</param>
    /// <param name="journal">Keeps what is owed until confirmed.</param>
    /// <param name="access">Whether a server can be reached, and its epoch in the view.</param>
    /// <param name="events">Observes work the caller left.</param>
    /// <param name="options">Timeouts.</param>
    /// <param name="time">The clock.</param>
    /// <param name="lifetime">The client's lifetime: invalidations stop only when the client is disposed.</param>
    public Invalidator(IFencer fencer, InvalidationJournal journal, ServerAccess access, PoolEvents events, MemcachedClientOptions options, TimeProvider time, CancellationToken lifetime)
    {
        _fence = new InvalidationFence(fencer, journal, access.View);
        _journal = journal;
        _access = access;
        _events = events;
        _options = options;
        _time = time;
        _lifetime = lifetime;
    }

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

        return WaitUnlessCallerLeavesAsync(work.AsTask(), cancellationToken, operation, key, node);
    }

    // Pooled: a state machine per write made with a token that can fire would otherwise be an allocation of its own.
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<T> WaitUnlessCallerLeavesAsync<T>(Task<T> work, CancellationToken callerLeft, string operation, string key, ServerNode? node)
    {
        try
        {
            return await work.WaitAsync(callerLeft).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (callerLeft.IsCancellationRequested)
        {
            // The work's failure is the pool's to report from here on, and only from here on: a caller that waited to
            // the end got the failure itself, and a second report would log one failure twice.
            _events.ObserveIfCallerLeft(work, callerLeft, operation, node, key);
            throw;
        }
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
    /// <param name="fenceAtOnce">
    /// True when a request of the caller's already waited out the quarter of the bound after the caller left (a store
    /// whose fate is unknown): no attempt more, the server is fenced at once.
    /// </param>
    /// <param name="coversSince">When the request this settles was sent; the fence must come after it. Default: now.</param>
    public async ValueTask<(T Result, bool Fenced)> ConfirmOrFenceAsync<T>(ServerNode node, CacheKey key, Func<MetaCommand<T>> command, CancellationToken callerLeft = default, bool fenceAtOnce = false, long? coversSince = null)
    {
        var lifetime = _lifetime;
        var sentAt = coversSince ?? _time.GetTimestamp();

        // Sent even when the view says the server is fenced: the fence may be being lifted right now (a failback
        // flushed it and is about to readmit it), and an invalidation that lands is safe whatever the view says.
        if ((_access.CanReach(node) || _access.OthersMayRead(node)) && !fenceAtOnce)
        {
            try
            {
                var attempt = command();
                using var grace = WatchCallerLeaving(node, attempt, callerLeft);
                return (await AttemptAsync(node, attempt).ConfigureAwait(false), false);
            }
            catch (MemcachedException error) when (error is not MemcachedServerErrorException)
            {
                _options.Logger.InvalidationJournaled(error, node.EndPoint, key.Text);
                var pending = _journal.Add(node.EndPoint.ToString(), key.Text, _access.View[node.Index].Epoch);
                var time = _time;
                var deadline = time.GetTimestamp() + (long)(_options.Invalidation.ConfirmTimeout.TotalSeconds * time.TimestampFrequency);
                while ((_access.CanReach(node) || _access.OthersMayRead(node)) && time.GetTimestamp() < deadline && !callerLeft.IsCancellationRequested)
                {
                    try
                    {
                        var remaining = TimeSpan.FromSeconds((deadline - time.GetTimestamp()) / (double)time.TimestampFrequency);
                        var result = await node.ExecuteAsync(command(), CancellationToken.None, evenIfDown: true).AsTask().WaitAsync(remaining, time, lifetime).ConfigureAwait(false);
                        _journal.Remove(pending);
                        return (result, false);
                    }
                    catch (Exception retryError) when (retryError is MemcachedException or TimeoutException)
                    {
                        await Runtime.WorkScheduler.Current.Delay(RetryPause, time, lifetime).ConfigureAwait(false);
                    }
                }

                if (await _fence.FenceOrOweAsync(node, key.Text, pending, error.Message, lifetime, coversSince: sentAt).ConfigureAwait(false))
                {
                    return (default!, true);
                }

                // No fence holds it, so no flush is known to come after it: owed until the server confirms it.
                throw new InvalidationOwedException(
                    $"Server {node.EndPoint}: the invalidation of key '{key.Text}' could not be confirmed, and the server could not be fenced in the shared view (no quorum of servers answered); the journal keeps retrying it.",
                    node.EndPoint,
                    key.Text,
                    error);
            }
        }

        // Down here or in the view (or the caller's time is up): it will be flushed before anyone reads it again,
        // provided the fence is published.
        if (await _fence.FenceOrOweAsync(node, key.Text, pending: null, detail: null, lifetime, coversSince: sentAt).ConfigureAwait(false))
        {
            return (default!, true);
        }

        // Owed until the server confirms it: the view this frontend reads may lag a readmission made before this
        // delete failed, and such a readmission's flush does not cover it (only a flush after a fence would).
        throw new InvalidationOwedException(
            $"Server {node.EndPoint} is down and could not be fenced in the shared view (no quorum of servers answered), so the invalidation of key '{key.Text}' is owed; the journal keeps retrying it.",
            node.EndPoint,
            key.Text);
    }

    /// <summary>
    /// Owes the delete of <paramref name="key"/> on <paramref name="node"/> until the server confirms it: no readmission
    /// settles it (see <see cref="Failover.FailoverStrategy"/>'s writes that were not sent).
    /// </summary>
    public void OweUntilConfirmed(ServerNode node, CacheKey key) => _fence.OweUntilConfirmed(node, key.Text);

    /// <summary>
    /// Sends, once, a delete owed until confirmed (see <see cref="OweUntilConfirmed"/>) to a server this frontend's view
    /// fences: on a connection already open when there is one (a server held down only by the view keeps this
    /// frontend's connections to it), else on a new one. True when the server confirmed it.
    /// The journal entry stays either way (its own confirmation, once the view shows the server up, is what lets this
    /// frontend read the server again); a failure is only counted.
    /// </summary>
    public async ValueTask<bool> SendOwedDeleteAsync(ServerNode node, CacheKey key)
    {
        try
        {
            var delete = new DeleteCommand(key);
            await (node.HasOpenConnection ? node.ExecuteOnConnectionOpenedByAsync(delete, long.MaxValue, CancellationToken.None) : AttemptAsync(node, delete)).ConfigureAwait(false);
            return true;
        }
        catch (MemcachedException error)
        {
            node.Errors.Absorbed(AbsorbedError.OwedDeleteUnsent, key.Text, error);
            return false;
        }
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
    /// <param name="node">The server.</param>
    /// <param name="key">The key the mutation writes.</param>
    /// <param name="command">The mutation.</param>
    /// <param name="callerLeft">The caller's token (see <see cref="ConfirmOrFenceAsync{T}"/>).</param>
    /// <param name="connectionWatermark">Send only on a connection opened no later than this (a refill under a lease); <see cref="long.MaxValue"/> for any.</param>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<T> MutateOrInvalidateAsync<T>(ServerNode node, CacheKey key, MetaCommand<T> command, CancellationToken callerLeft = default, long connectionWatermark = long.MaxValue)
    {
        var sentAt = _time.GetTimestamp();
        T result;
        try
        {
            using var grace = WatchCallerLeaving(node, command, callerLeft);
            result = await AttemptAsync(node, command, evenIfDown: false, connectionWatermark).ConfigureAwait(false);
        }
        catch (MemcachedException error) when (error is not MemcachedServerErrorException)
        {
            // A caller who left has had its quarter of the bound: the delete is not tried (it would wait another
            // quarter, and other frontends would read the old value past the bound measured from the caller's return).
            await ConfirmOrFenceAsync(node, key, () => new DeleteCommand(key), callerLeft, fenceAtOnce: callerLeft.IsCancellationRequested, coversSince: sentAt).ConfigureAwait(false);
            throw;
        }

        if (callerLeft.IsCancellationRequested && result is StoreResult { IsStored: true })
        {
            // It landed after its caller left. The caller was told "cancelled", so for it the write did not happen,
            // and it went on: its application may change the key's source again and delete the key, and that delete
            // can reach the server before this late store, which then stays (simulator seed offline 3004436: a set of
            // version 6 landed just after the delete of version 7 and was served for seconds). A write whose caller
            // does not know it landed is an invalidation: the key is deleted after it, confirmed or fenced.
            await ConfirmOrFenceAsync(node, key, () => new DeleteCommand(key), callerLeft, fenceAtOnce: false, coversSince: sentAt).ConfigureAwait(false);
        }

        return result;
    }

    /// <summary>
    /// One attempt on the pool's lifetime: the request, sent with no token at all. It ends with its answer, its
    /// connection's timeout, or the client's disposal (which fails what is in flight); registering each store on the
    /// pool's shutdown token cost an allocation and a contended lock per write. Its caller watches the caller's token
    /// with <see cref="WatchCallerLeaving{T}"/> around the await.
    /// </summary>
    private static ValueTask<T> AttemptAsync<T>(ServerNode node, MetaCommand<T> command, bool evenIfDown = true, long connectionWatermark = long.MaxValue)
        => connectionWatermark == long.MaxValue
            ? node.ExecuteAsync(command, CancellationToken.None, evenIfDown)
            : node.ExecuteOnConnectionOpenedByAsync(command, connectionWatermark, CancellationToken.None);

    /// <summary>
    /// While the caller waits, an attempt takes as long as the connection allows (the operation timeout); once the
    /// caller has left, at most a quarter of the bound more, then it counts as failed (its answer, if one comes, is
    /// still consumed by the connection and changes nothing). Dispose the watch once the attempt has ended. The
    /// command is awaited directly: a task conversion and a <c>WaitAsync</c> per write made with a token that can
    /// fire (an HTTP request's) cost about a kilobyte each.
    /// </summary>
    private CallerLeftGrace<T>? WatchCallerLeaving<T>(ServerNode node, MetaCommand<T> command, CancellationToken callerLeft)
        => CallerLeftGrace<T>.Watch(command, node.EndPoint, callerLeft, _options.SharedView.RefreshInterval, _time);

    private static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(10);
}
