using System.Buffers;
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
    /// Reads a key into <paramref name="destination"/>. The default reads it as <see cref="GetAsync"/> does and copies
    /// the value; a strategy whose reads need no unwrapping copies straight from the connection instead.
    /// </summary>
    public virtual async ValueTask<BufferedGetResult> GetIntoAsync(CacheKey key, IBufferWriter<byte> destination, CancellationToken cancellationToken)
    {
        var result = await GetAsync(key, 0, cancellationToken).ConfigureAwait(false);
        if (result.Value is not { } value)
        {
            return BufferedGetResult.Miss;
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
    /// Turns a raw hit into what a caller may see: lease placeholders and stale items are misses, and a won lease
    /// becomes a <see cref="RefillLease"/>.
    /// </summary>
    internal static GetResult Present(CacheKey key, ServerNode node, GetResult raw, long gutterEpoch = 0)
    {
        if (raw.MustRefill)
        {
            return GetResult.Miss with { Lease = new RefillLease(key.Text, [new LeaseToken(node, raw.Cas, gutterEpoch)]) };
        }

        return raw.RefillPending || raw.IsStale ? GetResult.Miss : raw;
    }

    /// <summary>
    /// Runs a mutation whose loss would leave an old value readable (a delete, a store), and makes sure of its fate:
    /// if the first attempt fails it is journaled and retried until <see cref="InvalidationOptions.ConfirmTimeout"/>,
    /// and if it is still unconfirmed the server is fenced for every frontend. Either way the old value can no longer
    /// be read once this returns, unless it throws (no quorum to fence with: the journal keeps retrying).
    /// </summary>
    protected async ValueTask<(T Result, bool Fenced)> ConfirmAsync<T>(ServerNode node, CacheKey key, Func<MetaCommand<T>> command, CancellationToken cancellationToken)
    {
        // Sent even when the view says the server is fenced: the fence may be being lifted right now (a failback
        // flushed it and is about to readmit it), and a delete that lands is safe whatever the view says.
        if (Pool.CanReach(node))
        {
            try
            {
                return (await node.ExecuteAsync(command(), cancellationToken, evenIfDown: true).ConfigureAwait(false), false);
            }
            catch (MemcachedException error) when (error is not MemcachedServerErrorException)
            {
                Pool.Options.Logger.InvalidationJournaled(error, node.EndPoint, key.Text);
                var pending = Pool.Journal.Add(node.EndPoint.ToString(), key.Text, Pool.View[node.Index].Epoch);
                var deadline = Pool.Time.GetTimestamp() + (long)(Pool.Options.Invalidation.ConfirmTimeout.TotalSeconds * Pool.Time.TimestampFrequency);
                while (Pool.CanReach(node) && Pool.Time.GetTimestamp() < deadline)
                {
                    try
                    {
                        var remaining = TimeSpan.FromSeconds((deadline - Pool.Time.GetTimestamp()) / (double)Pool.Time.TimestampFrequency);
                        var result = await node.ExecuteAsync(command(), cancellationToken, evenIfDown: true).AsTask().WaitAsync(remaining, Pool.Time, cancellationToken).ConfigureAwait(false);
                        Pool.Journal.Remove(pending);
                        return (result, false);
                    }
                    catch (Exception retryError) when (retryError is MemcachedException or TimeoutException)
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(10), Pool.Time, cancellationToken).ConfigureAwait(false);
                    }
                }

                if (await Pool.FenceAsync(node, ServerFailureReason.InvalidationUnconfirmed, error.Message, cancellationToken).ConfigureAwait(false))
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
        if (await Pool.FenceAsync(node, ServerFailureReason.InvalidationUnconfirmed, null, cancellationToken).ConfigureAwait(false))
        {
            return (default!, true);
        }

        Pool.Journal.Add(node.EndPoint.ToString(), key.Text, Pool.View[node.Index].Epoch);
        throw new ServerUnavailableException(
            $"Server {node.EndPoint} is down and could not be fenced in the shared view (no quorum of servers answered), so the invalidation of key '{key.Text}' is owed; the journal keeps retrying it.",
            node.EndPoint);
    }

    /// <summary>
    /// A refill on the server whose placeholder the lease won, with the placeholder's CAS: refused (exists / not
    /// found) when a delete came in between, and not attempted at all when that server is no longer readable.
    /// </summary>
    protected async ValueTask<StoreResult> RefillUnderTokenAsync(CacheKey key, ReadOnlyMemory<byte> value, LeaseToken token, long ttlSeconds, CancellationToken cancellationToken)
    {
        if (!Pool.IsReadable(token.Node))
        {
            return new StoreResult(StoreStatus.ServerDown, 0);
        }

        return await StoreOrInvalidateAsync(token.Node, key, new StoreCommand(key, value, StoreMode.Set, ttlSeconds, 0, token.Cas), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A delete of a key on one server, confirmed or fenced.</summary>
    protected async ValueTask<DeleteStatus> InvalidateAsync(ServerNode node, CacheKey key, CancellationToken cancellationToken)
    {
        var (status, fenced) = await ConfirmAsync(node, key, () => new DeleteCommand(key), cancellationToken).ConfigureAwait(false);
        return fenced ? DeleteStatus.ServerFenced : status;
    }

    /// <summary>
    /// A store on one server. If its fate is unknown (timeout, lost connection) the key is invalidated (confirmed or
    /// fenced) before the error is rethrown, so neither the old value nor a half-applied new one can be read.
    /// </summary>
    protected async ValueTask<StoreResult> StoreOrInvalidateAsync(ServerNode node, CacheKey key, MetaCommand<StoreResult> command, CancellationToken cancellationToken)
    {
        try
        {
            return await node.ExecuteAsync(command, cancellationToken).ConfigureAwait(false);
        }
        catch (MemcachedException error) when (error is not MemcachedServerErrorException)
        {
            await InvalidateAsync(node, key, cancellationToken).ConfigureAwait(false);
            throw;
        }
    }
}
