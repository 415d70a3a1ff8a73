using System.Buffers;
using Ballast.Invalidation;
using Ballast.Diagnostics;
using Ballast.Pool;
using Ballast.Protocol;
using Ballast.Protocol.Commands;
using Ballast.SharedView;

namespace Ballast.Failover;

/// <summary>
/// Where a keyed operation goes when servers fail: one subclass per <see cref="FailoverPolicy"/>. The base holds what
/// the policies share: reads that turn server failures into misses, and mutations that are confirmed or fenced.
/// </summary>
internal abstract class FailoverStrategy
{
    private static readonly GetResult PendingRefill = GetResult.Miss with { RefillPending = true };

    protected FailoverStrategy(FailoverContext context)
    {
        Context = context;
        Access = context.Access;
    }

    /// <summary>The servers, their access, invalidations and options.</summary>
    protected FailoverContext Context { get; }

    /// <summary>Whether a server may be read or reached now: the check on every keyed operation.</summary>
    protected ServerAccess Access { get; }

    public static FailoverStrategy Create(FailoverContext context) => context.Options.FailoverPolicy switch
    {
        FailoverPolicy.Offline => new OfflineStrategy(context),
        FailoverPolicy.Gutter => new GutterStrategy(context),
        FailoverPolicy.Replicated => new ReplicatedStrategy(context),
        FailoverPolicy.Rehash => new RehashStrategy(context),
        _ => throw new ArgumentOutOfRangeException(nameof(context), context.Options.FailoverPolicy, "Unknown failover policy."),
    };

    /// <summary>The node a refill lease's token was granted on.</summary>
    protected ServerNode NodeOf(LeaseToken token) => Context.Servers.All[token.NodeIndex];

    /// <summary>Reads a key. A server failure is a miss, never an error: that is the promise.</summary>
    /// <param name="key">The key.</param>
    /// <param name="leaseSeconds">Above 0: on a miss, try to win a refill lease of that many seconds.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public abstract ValueTask<GetResult> GetAsync(CacheKey key, long leaseSeconds, CancellationToken cancellationToken);

    /// <summary>
    /// Reads a key into <paramref name="destination"/>, and sets its TTL in the same request when
    /// <paramref name="touchSeconds"/> is 0 or more; without a destination, reads only its flags and CAS. The default
    /// reads as <see cref="GetAsync"/> or <see cref="GetAndTouchAsync"/> does and copies the value; a strategy whose
    /// reads need no unwrapping copies straight from the connection instead, and reads no value when none is wanted.
    /// </summary>
    public virtual async ValueTask<BufferedGetResult> GetIntoAsync(CacheKey key, IBufferWriter<byte>? destination, long touchSeconds, CancellationToken cancellationToken)
    {
        var result = touchSeconds >= 0
            ? await GetAndTouchAsync(key, touchSeconds, cancellationToken).ConfigureAwait(false)
            : await GetAsync(key, 0, cancellationToken).ConfigureAwait(false);
        if (result.Value is not { } value)
        {
            return BufferedGetResult.Miss;
        }

        if (destination is null)
        {
            return new BufferedGetResult(0, result.Flags, result.Cas);
        }

        // The value may have come from a replica or the gutter: no one server to name.
        return BufferedGetCommand.CopyInto(destination, value, key.Text, server: null) is { } refused
            ? throw refused
            : new BufferedGetResult(value.Length, result.Flags, result.Cas);
    }

    /// <summary>Reads many keys; the default reads them one by one, in parallel.</summary>
    public virtual async ValueTask<GetResult[]> GetManyAsync(CacheKey[] keys, CancellationToken cancellationToken)
    {
        var reads = keys.Select(key => GetAsync(key, 0, cancellationToken).AsTask()).ToArray();
        return await Task.WhenAll(reads).ConfigureAwait(false);
    }

    /// <summary>Stores a value (set, add, replace, append, prepend, CAS).</summary>
    public abstract ValueTask<StoreResult> StoreAsync(CacheKey key, ReadOnlyMemory<byte> value, StoreMode mode, long ttlSeconds, uint flags, ulong cas, long? version, CancellationToken cancellationToken);

    /// <summary>Refills a key under a lease won by <see cref="GetAsync"/>.</summary>
    public abstract ValueTask<StoreResult> RefillAsync(CacheKey key, ReadOnlyMemory<byte> value, RefillLease lease, long ttlSeconds, CancellationToken cancellationToken);

    /// <summary>Invalidates a key. Returns only once the delete is confirmed or its server fenced.</summary>
    public abstract ValueTask<DeleteStatus> DeleteAsync(CacheKey key, CancellationToken cancellationToken);

    /// <summary>
    /// Sets a key's time to live without reading it: on the key's own server when readable. False when the key does
    /// not exist, or cannot be reached (its server is down or fenced, so its value is a miss anyway).
    /// </summary>
    public virtual async ValueTask<bool> TouchAsync(CacheKey key, long ttlSeconds, CancellationToken cancellationToken)
    {
        var node = Primary(key);
        if (!Access.IsReadable(node))
        {
            return false;
        }

        var touched = await ReadOrMissAsync(node, new GetCommand(key, withValue: false, touchSeconds: ttlSeconds), cancellationToken).ConfigureAwait(false);
        return touched.IsHit;
    }

    /// <summary>Reads a key and sets its time to live in one request; presented as a read (a failure is a miss).</summary>
    public virtual async ValueTask<GetResult> GetAndTouchAsync(CacheKey key, long ttlSeconds, CancellationToken cancellationToken)
    {
        var node = Primary(key);
        if (!Access.IsReadable(node))
        {
            return GetResult.Miss;
        }

        var epoch = EpochOf(node);
        var raw = await ReadOrMissAsync(node, new GetCommand(key, touchSeconds: ttlSeconds), cancellationToken).ConfigureAwait(false);
        return Present(key, node, raw, epoch);
    }

    /// <summary>
    /// Marks a key stale (<c>md ... I</c>), confirmed or fenced like a delete, since a mark that is lost leaves the
    /// value readable as fresh. True when an item was marked, or its server fenced (no one reads it before a flush).
    /// </summary>
    public virtual ValueTask<bool> MarkStaleAsync(CacheKey key, long staleSeconds, CancellationToken cancellationToken)
        => Context.Invalidations.Detach(MarkStaleOnAsync(InvalidationTargets(key), key, staleSeconds, cancellationToken), cancellationToken, "mark-stale", key.Text);

    /// <summary>The servers that hold copies of a key, which an invalidation must reach: the key's own server here.</summary>
    protected virtual IReadOnlyList<ServerNode> InvalidationTargets(CacheKey key) => [Primary(key)];

    /// <summary>
    /// Increments or decrements a counter on the key's own server, which must be readable. Counters never move to
    /// another server, since a counter restarted elsewhere hands out the same numbers twice.
    /// </summary>
    public virtual ValueTask<CounterResult> CounterAsync(CacheKey key, bool increment, ulong delta, ulong? initial, long ttlSeconds, CancellationToken cancellationToken)
        => HomeFor(key).ExecuteAsync(new ArithmeticCommand(key, increment, delta, initial, ttlSeconds), cancellationToken);

    /// <summary>Marks <paramref name="key"/> stale on every node given, each confirmed or fenced.</summary>
    private async ValueTask<bool> MarkStaleOnAsync(IReadOnlyList<ServerNode> nodes, CacheKey key, long staleSeconds, CancellationToken callerLeft)
    {
        var marks = new Task<(DeleteStatus Result, bool Fenced)>[nodes.Count];
        for (var i = 0; i < nodes.Count; i++)
        {
            marks[i] = Context.Invalidations.ConfirmOrFenceAsync(nodes[i], key, () => new DeleteCommand(key, staleSeconds: staleSeconds), callerLeft).AsTask();
        }

        var outcomes = await Task.WhenAll(marks).ConfigureAwait(false);
        return outcomes.Any(o => o.Fenced || o.Result == DeleteStatus.Deleted);
    }

    /// <summary>
    /// The server that counters and touches go to: the key's own server, which must be readable. Counters are never
    /// moved to another server, since a counter restarted elsewhere hands out the same numbers twice.
    /// </summary>
    public virtual ServerNode HomeFor(CacheKey key)
    {
        var node = Primary(key);
        if (!Access.IsReadable(node))
        {
            throw new ServerUnavailableException($"Server {node.EndPoint}, which holds key '{key.Text}', is down or fenced; the request was not sent.", node.EndPoint);
        }

        return node;
    }

    /// <summary>The server of <c>key-N</c>: PECL's failover walk, also used to place replicas.</summary>
    protected ServerNode LocateSuffixed(CacheKey key, int n)
    {
        Span<byte> candidate = stackalloc byte[CacheKey.MaxLength + 12];
        var length = key.GetUtf8(candidate).Length;
        candidate[length] = (byte)'-';
        n.TryFormat(candidate[(length + 1)..], out var digits, provider: System.Globalization.CultureInfo.InvariantCulture);
        return Context.Servers.Main[Context.Servers.Locator.Locate(candidate[..(length + 1 + digits)])];
    }

    protected ServerNode Primary(CacheKey key)
    {
        var main = Context.Servers.Main;
        if (main.Length == 1)
        {
            // Every distribution puts every key on the only server: no need to encode the key to hash it.
            return main[0];
        }

        Span<byte> utf8 = stackalloc byte[CacheKey.MaxLength];
        return Context.Servers.Primary(key.GetUtf8(utf8));
    }

    /// <summary>Reads from one server; a failure of the server is a miss (its detector has counted it).</summary>
    protected async ValueTask<GetResult> ReadOrMissAsync(ServerNode node, MetaCommand<GetResult> command, CancellationToken cancellationToken)
    {
        try
        {
            return await node.ExecuteAsync(command, cancellationToken).ConfigureAwait(false);
        }
        catch (MemcachedException error)
        {
            node.Errors.Absorbed(AbsorbedError.ReadMiss, command.Key, error);
            return GetResult.Miss;
        }
    }

    /// <summary>
    /// Turns a raw hit into what a caller may see: lease placeholders and stale items are misses (the one rule,
    /// <see cref="ServableRule"/>), and a won lease becomes a <see cref="RefillLease"/>.
    /// </summary>
    /// <param name="key">The key read.</param>
    /// <param name="node">The server it was read from.</param>
    /// <param name="raw">What the server answered.</param>
    /// <param name="serverEpoch">The server's epoch in the shared view when the read was sent (a lease is void once it changes).</param>
    /// <param name="gutterEpoch">The outage epoch of a gutter read, else 0.</param>
    internal static GetResult Present(CacheKey key, ServerNode node, GetResult raw, long serverEpoch, long gutterEpoch = 0)
    {
        if (raw.MustRefill)
        {
            return GetResult.Miss with { Lease = new RefillLease(key.Text, [new LeaseToken(node.Index, raw.Cas, gutterEpoch, serverEpoch, node.ConnectionsOpened)]) };
        }

        return ServableRule.IsServable(raw) ? raw : Unservable(raw);
    }

    /// <summary>
    /// The miss a caller sees for a copy it may not have: nothing of the copy but whether another caller holds the
    /// key's refill lease (it is refilling the key), which is no value and lets a caller wait for that refill rather
    /// than read the source too.
    /// </summary>
    internal static GetResult Unservable(in GetResult raw) => MissFor(refillPending: raw.RefillPending);

    /// <summary>A miss, telling whether another caller holds the key's refill lease.</summary>
    internal static GetResult MissFor(bool refillPending) => refillPending ? PendingRefill : GetResult.Miss;

    /// <summary>
    /// A refill on the server whose placeholder the lease won, with the placeholder's CAS: refused (exists / not
    /// found) when a delete came in between, and not attempted at all when that server is no longer readable.
    /// </summary>
    protected ValueTask<StoreResult> RefillUnderTokenAsync(CacheKey key, ReadOnlyMemory<byte> value, LeaseToken token, long ttlSeconds, CancellationToken cancellationToken)
    {
        var node = NodeOf(token);
        if (!Access.IsReadable(node))
        {
            return new ValueTask<StoreResult>(new StoreResult(StoreStatus.ServerDown, 0));
        }

        if (!LeaseHolds(node, token))
        {
            return new ValueTask<StoreResult>(new StoreResult(StoreStatus.NotFound, 0));
        }

        return StoreOrInvalidateAsync(node, key, new StoreCommand(key, value, StoreMode.Set, ttlSeconds, 0, token.Cas), cancellationToken, token.ConnectionWatermark);
    }

    /// <summary>
    /// Whether a lease granted by <paramref name="node"/> can still be used: the server's epoch in the view is the one
    /// it was granted in (no fence, flush and readmission since), and a connection opened by then is still open (a
    /// restart closes every one). Otherwise the lease is void: its placeholder is gone, whatever CAS now answers.
    /// </summary>
    protected bool LeaseHolds(ServerNode node, LeaseToken token)
        => EpochOf(node) == token.ServerEpoch && node.HasConnectionOpenedBy(token.ConnectionWatermark);

    /// <summary>The server's epoch in the shared view (0 without a view).</summary>
    protected long EpochOf(ServerNode node) => Access.View[node.Index].Epoch;

    /// <summary>
    /// Gives a refill lease back: deletes each placeholder the lease won, only if it is still that placeholder (its
    /// CAS), so the next reader wins a fresh lease at once instead of every reader missing until the placeholder
    /// expires. Best effort and never the caller's to cancel: a placeholder left behind only costs misses.
    /// </summary>
    public async Task AbandonLeaseAsync(CacheKey key, RefillLease lease)
    {
        foreach (var token in lease.Tokens)
        {
            try
            {
                await NodeOf(token).ExecuteAsync(new DeleteCommand(key, token.Cas), CancellationToken.None).ConfigureAwait(false);
            }
            catch (MemcachedException error)
            {
                // The placeholder expires with the lease.
                NodeOf(token).Errors.Absorbed(AbsorbedError.PlaceholderKept, key.Text, error);
            }
        }
    }

    /// <summary>
    /// A write that was not sent (the key's server is down here, or this frontend's view lapsed): it did not land,
    /// so it is an invalidation. Unless the server is fenced for every frontend, others may still read the key's old
    /// value there, so the key is deleted there (confirmed, or the server fenced) before this returns
    /// <see cref="StoreStatus.ServerDown"/>; when neither can be done, <see cref="InvalidationOwedException"/> says
    /// the invalidation is owed (the journal keeps retrying it), as <c>DeleteAsync</c> does.
    /// </summary>
    /// <remarks>
    /// A fence seen in this frontend's view promises a flush before the server serves again, but the view may lag: the
    /// flush and the readmission may already have happened elsewhere, before this write, and then nothing deletes the
    /// old value. So the delete is owed until the server confirms it (see <see cref="OweDeleteUntilConfirmedAsync"/>).
    /// </remarks>
    protected async ValueTask<StoreResult> NotStoredAsync(ServerNode node, CacheKey key, CancellationToken cancellationToken)
    {
        if (Access.IsFencedForEveryone(node))
        {
            await OweDeleteUntilConfirmedAsync(node, key, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await InvalidateAsync(node, key, cancellationToken).ConfigureAwait(false);
        }

        return new StoreResult(StoreStatus.ServerDown, 0);
    }

    /// <summary>
    /// Owes the delete of <paramref name="key"/> on a server this frontend's view fences until the server confirms it
    /// (no readmission settles it: the view may lag one made before this write), and, when the server answers this
    /// frontend (a connection to it is open, or its probes get through), sends it once now. The journal sends it again
    /// once the view shows the server up, and this frontend does not read the server before it is confirmed; the delete
    /// sent now is what closes the lag's window for the others.
    /// </summary>
    /// <remarks>
    /// Sent now because the view's lag can outlast this frontend's reach: simulator seed offline 27000913 (a two-server
    /// pool) had a set not sent at 2419 ms to a server another frontend had flushed and readmitted 115 ms before; a
    /// refill whose lease was taken before the set stored the old value at 2433 ms, and at 2481 ms a blip cut this
    /// frontend from every server for 3.5 s, so the delete owed until the view showed the server up was neither sent
    /// nor turned into a fence, and the old value was read until the cut healed. A delete sent at once, to a server
    /// that still answers this frontend, lands before the refill and voids its lease. It is only a delete: sent to
    /// a server that really is fenced, it removes a value the flush before its readmission would remove anyway.
    /// </remarks>
    protected ValueTask<bool> OweDeleteUntilConfirmedAsync(ServerNode node, CacheKey key, CancellationToken cancellationToken)
    {
        Context.Invalidations.OweUntilConfirmed(node, key);
        if (!node.HasOpenConnection && !Access.CanReach(node))
        {
            // Nothing answers here: no attempt, so a write to a dead server costs no connect.
            return ValueTask.FromResult(false);
        }

        return Context.Invalidations.Detach(Context.Invalidations.SendOwedDeleteAsync(node, key), cancellationToken, "invalidation", key.Text, node);
    }

    /// <summary>
    /// A delete of a key on one server, confirmed or fenced. The caller's token ends only the caller's wait: the
    /// invalidation runs to its end (see <see cref="Invalidator"/>).
    /// </summary>
    protected ValueTask<DeleteStatus> InvalidateAsync(ServerNode node, CacheKey key, CancellationToken cancellationToken)
        => Context.Invalidations.Detach(Context.Invalidations.DeleteAsync(node, key, cancellationToken), cancellationToken, "invalidation", key.Text, node);

    /// <summary>
    /// A store on one server. If its fate is unknown (timeout, lost connection) the key is invalidated (confirmed or
    /// fenced) before the error is rethrown. A caller who cancels stops waiting; the store and, if needed, the
    /// invalidation still run to their end.
    /// </summary>
    /// <param name="node">The server.</param>
    /// <param name="key">The key.</param>
    /// <param name="command">The store.</param>
    /// <param name="cancellationToken">Ends the caller's wait.</param>
    /// <param name="connectionWatermark">For a refill: send only on a connection opened by then (see <see cref="LeaseToken"/>).</param>
    protected ValueTask<StoreResult> StoreOrInvalidateAsync(ServerNode node, CacheKey key, MetaCommand<StoreResult> command, CancellationToken cancellationToken, long connectionWatermark = long.MaxValue)
        => Context.Invalidations.Detach(Context.Invalidations.MutateOrInvalidateAsync(node, key, command, cancellationToken, connectionWatermark), cancellationToken, "store", key.Text, node);
}
