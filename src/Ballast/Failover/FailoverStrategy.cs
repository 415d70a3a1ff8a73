using System.Buffers;
using Ballast.Invalidation;
using Ballast.Diagnostics;
using Ballast.Pool;
using Ballast.Protocol;
using Ballast.Protocol.Commands;

namespace Ballast.Failover;

/// <summary>
/// Where a keyed operation goes when servers fail: one subclass per <see cref="FailoverPolicy"/>. The base holds what
/// the policies share: reads that turn server failures into misses, and mutations that are confirmed or fenced.
/// </summary>
internal abstract class FailoverStrategy
{
    protected FailoverStrategy(ServerPool pool) => Pool = pool;

    protected ServerPool Pool { get; }

    public static FailoverStrategy Create(ServerPool pool) => pool.Policy switch
    {
        FailoverPolicy.Offline => new OfflineStrategy(pool),
        FailoverPolicy.Gutter => new GutterStrategy(pool),
        FailoverPolicy.Replicated => new ReplicatedStrategy(pool),
        FailoverPolicy.Rehash => new RehashStrategy(pool),
        _ => throw new ArgumentOutOfRangeException(nameof(pool), pool.Policy, "Unknown failover policy."),
    };

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
        if (!Pool.IsReadable(node))
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
        if (!Pool.IsReadable(node))
        {
            return GetResult.Miss;
        }

        var raw = await ReadOrMissAsync(node, new GetCommand(key, touchSeconds: ttlSeconds), cancellationToken).ConfigureAwait(false);
        return Present(key, node, raw);
    }

    /// <summary>
    /// Marks a key stale (<c>md ... I</c>), confirmed or fenced like a delete, since a mark that is lost leaves the
    /// value readable as fresh. True when an item was marked, or its server fenced (no one reads it before a flush).
    /// </summary>
    public virtual ValueTask<bool> MarkStaleAsync(CacheKey key, long staleSeconds, CancellationToken cancellationToken)
        => Pool.Invalidations.Detach(MarkStaleOnAsync(InvalidationTargets(key), key, staleSeconds, cancellationToken), cancellationToken, "mark-stale", key.Text);

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
            marks[i] = Pool.Invalidations.ConfirmOrFenceAsync(nodes[i], key, () => new DeleteCommand(key, staleSeconds: staleSeconds), callerLeft).AsTask();
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
        if (!Pool.IsReadable(node))
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
        return Pool.Main[Pool.Locator.Locate(candidate[..(length + 1 + digits)])];
    }

    protected ServerNode Primary(CacheKey key)
    {
        if (Pool.Main.Length == 1)
        {
            // Every distribution puts every key on the only server: no need to encode the key to hash it.
            return Pool.Main[0];
        }

        Span<byte> utf8 = stackalloc byte[CacheKey.MaxLength];
        return Pool.Primary(key.GetUtf8(utf8));
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
            Pool.Options.Logger.ReadFailedAsMiss(error, node.EndPoint, command.Key);
            return GetResult.Miss;
        }
    }

    /// <summary>
    /// Turns a raw hit into what a caller may see: lease placeholders and stale items are misses (the one rule,
    /// <see cref="ServableRule"/>), and a won lease becomes a <see cref="RefillLease"/>.
    /// </summary>
    internal static GetResult Present(CacheKey key, ServerNode node, GetResult raw, long gutterEpoch = 0)
    {
        if (raw.MustRefill)
        {
            return GetResult.Miss with { Lease = new RefillLease(key.Text, [new LeaseToken(node, raw.Cas, gutterEpoch)]) };
        }

        return ServableRule.IsServable(raw) ? raw : GetResult.Miss;
    }

    /// <summary>
    /// A refill on the server whose placeholder the lease won, with the placeholder's CAS: refused (exists / not
    /// found) when a delete came in between, and not attempted at all when that server is no longer readable.
    /// </summary>
    protected ValueTask<StoreResult> RefillUnderTokenAsync(CacheKey key, ReadOnlyMemory<byte> value, LeaseToken token, long ttlSeconds, CancellationToken cancellationToken)
    {
        if (!Pool.IsReadable(token.Node))
        {
            return new ValueTask<StoreResult>(new StoreResult(StoreStatus.ServerDown, 0));
        }

        return StoreOrInvalidateAsync(token.Node, key, new StoreCommand(key, value, StoreMode.Set, ttlSeconds, 0, token.Cas), cancellationToken);
    }

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
                await token.Node.ExecuteAsync(new DeleteCommand(key, token.Cas), CancellationToken.None).ConfigureAwait(false);
            }
            catch (MemcachedException)
            {
                // The placeholder expires with the lease.
            }
        }
    }

    /// <summary>
    /// A delete of a key on one server, confirmed or fenced. The caller's token ends only the caller's wait: the
    /// invalidation runs to its end (see <see cref="Invalidator"/>).
    /// </summary>
    protected ValueTask<DeleteStatus> InvalidateAsync(ServerNode node, CacheKey key, CancellationToken cancellationToken)
        => Pool.Invalidations.Detach(Pool.Invalidations.DeleteAsync(node, key, cancellationToken), cancellationToken, "invalidation", key.Text, node);

    /// <summary>
    /// A store on one server. If its fate is unknown (timeout, lost connection) the key is invalidated (confirmed or
    /// fenced) before the error is rethrown. A caller who cancels stops waiting; the store and, if needed, the
    /// invalidation still run to their end.
    /// </summary>
    protected ValueTask<StoreResult> StoreOrInvalidateAsync(ServerNode node, CacheKey key, MetaCommand<StoreResult> command, CancellationToken cancellationToken)
        => Pool.Invalidations.Detach(Pool.Invalidations.MutateOrInvalidateAsync(node, key, command, cancellationToken), cancellationToken, "store", key.Text, node);
}
