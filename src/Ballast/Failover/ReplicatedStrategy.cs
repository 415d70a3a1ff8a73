using Ballast.Diagnostics;
using Ballast.Pool;
using Ballast.Protocol;
using Ballast.Protocol.Commands;

namespace Ballast.Failover;

/// <summary>
/// <see cref="FailoverPolicy.Replicated"/>: each key lives on R distinct servers, each copy versioned (the caller's
/// version, or a hybrid-logical-clock timestamp). Reads take the newest version; a delete writes a versioned
/// tombstone, so a copy that missed the delete loses to it; and a replica whose write or delete could not be
/// confirmed is fenced and flushed before it serves again.
/// </summary>
internal sealed class ReplicatedStrategy : FailoverStrategy
{
    private const int MaxPlacementAttempts = 64;

    public ReplicatedStrategy(ServerPool pool)
        : base(pool)
    {
    }

    public override async ValueTask<GetResult> GetAsync(CacheKey key, long leaseSeconds, CancellationToken cancellationToken)
    {
        var replicas = Replicas(key).Where(Pool.IsReadable).ToArray();
        if (replicas.Length == 0)
        {
            return GetResult.Miss;
        }

        if (Pool.Options.Replication.ReadMode == ReplicaReadMode.FirstAvailable && leaseSeconds == 0)
        {
            foreach (var replica in replicas)
            {
                try
                {
                    var raw = await replica.ExecuteAsync(new GetCommand(key), cancellationToken).ConfigureAwait(false);
                    return Newest([raw]).Result;
                }
                catch (MemcachedException error)
                {
                    // Fall back to the next replica.
                    Pool.Options.Logger.ReadFailedAsMiss(error, replica.EndPoint, key.Text);
                }
            }

            return GetResult.Miss;
        }

        var reads = replicas.Select(r => ReadOrMissAsync(r, new GetCommand(key, vivifySeconds: leaseSeconds), cancellationToken).AsTask()).ToArray();
        var results = await Task.WhenAll(reads).ConfigureAwait(false);
        var (newest, isValue) = Newest(results);
        if (isValue || leaseSeconds == 0)
        {
            return newest;
        }

        // No live copy: the caller may refill the replicas whose placeholders it won, and those holding a tombstone.
        // A tombstone's CAS is the lease there: a delete after this read replaces it, and the refill then fails.
        var tokens = results
            .Select((raw, i) => (raw, node: replicas[i]))
            .Where(x => x.raw.MustRefill || (!x.raw.RefillPending && IsTombstone(x.raw)))
            .Select(x => new LeaseToken(x.node, x.raw.Cas, 0))
            .ToArray();
        return tokens.Length == 0 ? GetResult.Miss : GetResult.Miss with { Lease = new RefillLease(key.Text, tokens) };
    }

    public override async ValueTask<StoreResult> StoreAsync(CacheKey key, ReadOnlyMemory<byte> value, StoreMode mode, long ttlSeconds, uint flags, ulong cas, long? version, CancellationToken cancellationToken)
    {
        if (mode is not StoreMode.Set and not StoreMode.Add || cas != 0)
        {
            throw new NotSupportedException($"Key '{key.Text}': the Replicated policy supports set, add, delete, touch and refill; {mode}{(cas != 0 ? " with CAS" : string.Empty)} cannot be applied to versioned copies on several servers.");
        }

        var wrapped = ValueEnvelope.Wrap(EnvelopeKind.Versioned, version ?? Pool.Clock.Next(), value.Span);
        return await WriteReplicasAsync(key, Replicas(key).Where(Pool.IsReadable).Select(node => (node, 0UL)), wrapped, mode, ttlSeconds, flags, cancellationToken).ConfigureAwait(false);
    }

    public override async ValueTask<StoreResult> RefillAsync(CacheKey key, ReadOnlyMemory<byte> value, RefillLease lease, long ttlSeconds, CancellationToken cancellationToken)
    {
        var wrapped = ValueEnvelope.Wrap(EnvelopeKind.Versioned, Pool.Clock.Next(), value.Span);
        return await WriteReplicasAsync(key, lease.Tokens.Where(t => Pool.IsReadable(t.Node)).Select(t => (t.Node, t.Cas)), wrapped, StoreMode.Set, ttlSeconds, 0, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes a tombstone newer than every copy to every replica, each confirmed or fenced.</summary>
    public override async ValueTask<DeleteStatus> DeleteAsync(CacheKey key, CancellationToken cancellationToken)
    {
        var tombstone = ValueEnvelope.Wrap(EnvelopeKind.Tombstone, Pool.Clock.Next(), []);
        var ttl = (long)Pool.Options.Replication.TombstoneTimeToLive.TotalSeconds;
        var writes = Replicas(key).Select(node => ConfirmAsync(node, key, () => new StoreCommand(key, tombstone, StoreMode.Set, ttl, 0, 0), cancellationToken).AsTask());
        var outcomes = await Task.WhenAll(writes).ConfigureAwait(false);
        return outcomes.All(o => o.Fenced) ? DeleteStatus.ServerFenced : DeleteStatus.Deleted;
    }

    private async ValueTask<StoreResult> WriteReplicasAsync(CacheKey key, IEnumerable<(ServerNode Node, ulong Cas)> targets, byte[] wrapped, StoreMode mode, long ttlSeconds, uint flags, CancellationToken cancellationToken)
    {
        var writes = targets.Select(t => StoreOrInvalidateAsync(t.Node, key, new StoreCommand(key, wrapped, mode, ttlSeconds, flags, t.Cas), cancellationToken).AsTask()).ToArray();
        if (writes.Length == 0)
        {
            return new StoreResult(StoreStatus.ServerDown, 0);
        }

        var results = await Task.WhenAll(writes).ConfigureAwait(false);
        return results.FirstOrDefault(r => r.IsStored, results[0]);
    }

    private static bool IsTombstone(GetResult raw)
        => raw.Value is { } bytes && ValueEnvelope.TryUnwrap(bytes, out var kind, out _, out _) && kind == EnvelopeKind.Tombstone;

    /// <summary>
    /// The newest copy among replica answers, and whether it is a value: a tombstone newer than every value makes a
    /// miss, as does finding nothing.
    /// </summary>
    private static (GetResult Result, bool IsValue) Newest(GetResult[] answers)
    {
        GetResult best = GetResult.Miss;
        var bestStamp = long.MinValue;
        var bestIsTombstone = false;
        foreach (var raw in answers)
        {
            if (raw.Value is null || raw.MustRefill || raw.RefillPending || raw.IsStale)
            {
                continue;
            }

            if (!ValueEnvelope.TryUnwrap(raw.Value, out var kind, out var stamp, out var value) || stamp <= bestStamp)
            {
                continue;
            }

            bestStamp = stamp;
            bestIsTombstone = kind == EnvelopeKind.Tombstone;
            best = new GetResult(value, raw.Flags, raw.Cas);
        }

        return bestIsTombstone || bestStamp == long.MinValue ? (GetResult.Miss, false) : (best, true);
    }

    /// <summary>R distinct servers: the key's own, then those of <c>key-0</c>, <c>key-1</c>, ... as PECL's redundancy walks.</summary>
    private List<ServerNode> Replicas(CacheKey key)
    {
        var wanted = Math.Min(Pool.Options.Replication.Replicas, Pool.Main.Length);
        var replicas = new List<ServerNode>(wanted) { Primary(key) };
        for (var attempt = 0; replicas.Count < wanted && attempt < MaxPlacementAttempts; attempt++)
        {
            var node = LocateSuffixed(key, attempt);
            if (!replicas.Contains(node))
            {
                replicas.Add(node);
            }
        }

        // A distribution that keeps landing on the same servers: complete the set in server order.
        foreach (var node in Pool.Main)
        {
            if (replicas.Count >= wanted)
            {
                break;
            }

            if (!replicas.Contains(node))
            {
                replicas.Add(node);
            }
        }

        return replicas;
    }
}
