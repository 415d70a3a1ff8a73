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

    private readonly HybridLogicalClock _clock;

    public ReplicatedStrategy(FailoverContext context)
        : base(context)
    {
        _clock = new HybridLogicalClock(context.Time);
    }

    public override async ValueTask<GetResult> GetAsync(CacheKey key, long leaseSeconds, CancellationToken cancellationToken)
    {
        var replicas = Replicas(key).Where(Access.IsReadable).ToArray();
        if (replicas.Length == 0)
        {
            return GetResult.Miss;
        }

        if (Context.Options.Replication.ReadMode == ReplicaReadMode.FirstAvailable && leaseSeconds == 0)
        {
            foreach (var replica in replicas)
            {
                try
                {
                    var raw = await replica.ExecuteAsync(new GetCommand(key), cancellationToken).ConfigureAwait(false);
                    return Present(ReplicaCopy.Newest([raw]));
                }
                catch (MemcachedException error)
                {
                    // Fall back to the next replica.
                    replica.Errors.Absorbed(AbsorbedError.ReplicaFallback, key.Text, error);
                }
            }

            return GetResult.Miss;
        }

        var epochs = replicas.Select(EpochOf).ToArray();
        var results = await ReadReplicasAsync(replicas, () => new GetCommand(key, vivifySeconds: leaseSeconds), cancellationToken).ConfigureAwait(false);
        var newest = Present(ReplicaCopy.Newest(results));
        if (newest.IsHit || leaseSeconds == 0)
        {
            return newest;
        }

        // No live copy: the caller may refill the replicas whose placeholders it won, and those holding a tombstone.
        // A tombstone's CAS is the lease there: a delete after this read replaces it, and the refill then fails.
        var tokens = results
            .Select((raw, i) => (raw, node: replicas[i]))
            .Where(x => x.raw.MustRefill || (ReplicaCopy.TryRead(x.raw, out var copy) && copy.IsTombstone))
            .Select(x => new LeaseToken(x.node.Index, x.raw.Cas, 0, epochs[Array.IndexOf(replicas, x.node)], x.node.ConnectionsOpened))
            .ToArray();
        if (tokens.Length == 0)
        {
            // No lease for this caller: say so when another caller holds one on a replica (it is refilling the key).
            return MissFor(refillPending: Array.Exists(results, raw => raw.RefillPending));
        }

        return GetResult.Miss with { Lease = new RefillLease(key.Text, tokens) };
    }

    /// <summary>Reads and touches every readable replica together; the newest copy wins, a tombstone is a miss.</summary>
    public override async ValueTask<GetResult> GetAndTouchAsync(CacheKey key, long ttlSeconds, CancellationToken cancellationToken)
    {
        var replicas = Replicas(key).Where(Access.IsReadable).ToArray();
        var results = await ReadReplicasAsync(replicas, () => new GetCommand(key, touchSeconds: ttlSeconds), cancellationToken).ConfigureAwait(false);
        return Present(ReplicaCopy.Newest(results));
    }

    /// <summary>
    /// Touches every readable replica together. True when the newest copy is a value (a tombstone's TTL moves too,
    /// which keeps it beating the copies it deleted for as long as they live).
    /// </summary>
    public override async ValueTask<bool> TouchAsync(CacheKey key, long ttlSeconds, CancellationToken cancellationToken)
        => (await GetAndTouchAsync(key, ttlSeconds, cancellationToken).ConfigureAwait(false)).IsHit;

    /// <summary>Every replica: a mark-stale marks each copy, confirmed or fenced, so no replica still serves it as fresh.</summary>
    protected override IReadOnlyList<ServerNode> InvalidationTargets(CacheKey key) => Replicas(key);

    /// <summary>Refused: replicated copies are versioned envelopes, which memcached cannot increment, and counters on several servers would drift.</summary>
    public override ValueTask<CounterResult> CounterAsync(CacheKey key, bool increment, ulong delta, ulong? initial, long ttlSeconds, CancellationToken cancellationToken)
        => throw new NotSupportedException($"Key '{key.Text}': the Replicated policy does not support {(increment ? "increment" : "decrement")}: its copies are versioned envelopes on several servers, which memcached cannot count on. Keep counters in a pool with the Offline policy.");

    public override async ValueTask<StoreResult> StoreAsync(CacheKey key, ReadOnlyMemory<byte> value, StoreMode mode, long ttlSeconds, uint flags, ulong cas, long? version, CancellationToken cancellationToken)
    {
        if (mode is not StoreMode.Set and not StoreMode.Add || cas != 0)
        {
            throw new NotSupportedException($"Key '{key.Text}': the Replicated policy supports set, add, delete, touch and refill; {mode}{(cas != 0 ? " with CAS" : string.Empty)} cannot be applied to versioned copies on several servers.");
        }

        var wrapped = ReplicaCopy.WrapValue(_clock.Next(), version, value.Span);
        var replicas = Replicas(key);
        var targets = replicas.Where(Access.IsWritable).ToArray();

        // A replica this write skips keeps its copy, which a frontend that reaches only that replica would read: the
        // write did not land there, so the copy is invalidated (unless every frontend has the replica fenced).
        var skipped = replicas.Except(targets).Select(node => NotStoredAsync(node, key, cancellationToken).AsTask()).ToArray();
        var written = version is { } callerVersion && mode == StoreMode.Set
            ? WriteEachAsync(targets, node => SetVersionedOnReplicaAsync(node, key, wrapped, callerVersion, ttlSeconds, flags, cancellationToken)).AsTask()
            : WriteEachAsync(targets, node => StoreOrInvalidateAsync(node, key, new StoreCommand(key, wrapped, mode, ttlSeconds, flags, 0), cancellationToken).AsTask()).AsTask();
        await Task.WhenAll(skipped.Append<Task>(written)).ConfigureAwait(false);
        return await written.ConfigureAwait(false);
    }

    /// <summary>
    /// A caller-versioned set on one replica that never replaces a copy with a higher caller version: it reads the
    /// copy, then writes by compare-and-swap against it (or adds where there is none), and looks again when another
    /// write came in between. A set of row version 5 that arrives after one of version 7 (two requests racing) is
    /// then <see cref="StoreStatus.NotStored"/> there, where an unconditional set let it overwrite 7 on every replica.
    /// </summary>
    private async Task<StoreResult> SetVersionedOnReplicaAsync(ServerNode node, CacheKey key, byte[] wrapped, long version, long ttlSeconds, uint flags, CancellationToken cancellationToken)
    {
        try
        {
            return await SetVersionedOnReplicaUntilDoneAsync(node, key, wrapped, version, ttlSeconds, flags, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The caller left before the compare-and-swap loop ended: its last swap may have lost to another write (a
            // refill whose lease was taken before this set, later by the clock), and no attempt follows. The copy
            // there may be older than this write, so the key is invalidated on this replica, to its end, as for any
            // write that did not land (simulator seed replicated 1499 on a88fd2a: the older value was served for
            // 1.35 s after the set's caller left).
            _ = InvalidateAsync(node, key, cancellationToken);
            throw;
        }
    }

    private async Task<StoreResult> SetVersionedOnReplicaUntilDoneAsync(ServerNode node, CacheKey key, byte[] wrapped, long version, long ttlSeconds, uint flags, CancellationToken cancellationToken)
    {
        var uncompared = false;
        for (var attempt = 0; attempt < MaxVersionedAttempts; attempt++)
        {
            GetResult current;
            try
            {
                current = await node.ExecuteAsync(new GetCommand(key), CancellationToken.None).ConfigureAwait(false);
                uncompared = false;
            }
            catch (MemcachedException error)
            {
                node.Errors.Absorbed(AbsorbedError.ReplicaFallback, key.Text, error);

                // The copy cannot be read: an add, which never replaces one, and whose failure is settled by the store
                // path like any other (the key invalidated there, or the server fenced). An add refused because a
                // copy is there says nothing of that copy's version: it may be older than this write, which then
                // did not land while the old value stays (simulator seed replicated 2000418: the read timed out on
                // a paused server, the add met version 6 there when it resumed, and 6 was served after the set of
                // 7 returned). So the copy is read again, now that the server answers.
                var added = await StoreOrInvalidateAsync(node, key, new StoreCommand(key, wrapped, StoreMode.Add, ttlSeconds, flags, 0), cancellationToken).ConfigureAwait(false);
                if (added.Status != StoreStatus.NotStored)
                {
                    return added;
                }

                uncompared = true;
                continue;
            }

            if (ReplicaCopy.TryRead(current, out var copy) && copy.CallerVersion is { } existing && existing > version)
            {
                return new StoreResult(StoreStatus.NotStored, copy.Cas);
            }

            var command = current.Cas == 0
                ? new StoreCommand(key, wrapped, StoreMode.Add, ttlSeconds, flags, 0)
                : new StoreCommand(key, wrapped, StoreMode.Set, ttlSeconds, flags, current.Cas);
            var result = await StoreOrInvalidateAsync(node, key, command, cancellationToken).ConfigureAwait(false);
            if (result.Status is not (StoreStatus.Exists or StoreStatus.NotFound or StoreStatus.NotStored))
            {
                return result;
            }
        }

        if (uncompared)
        {
            // A copy of unknown version stays, and this write did not land: an invalidation, like any write that
            // did not land (the key deleted there, confirmed, or the server fenced).
            await InvalidateAsync(node, key, cancellationToken).ConfigureAwait(false);
            return new StoreResult(StoreStatus.NotStored, 0);
        }

        // Other writes kept changing the copy: each of them passed the same check against what it read, so what stays
        // there is never older than a version it replaced. This one gives way.
        return new StoreResult(StoreStatus.Exists, 0);
    }

    /// <summary>How often a caller-versioned set looks again when other writes keep changing the copy it read.</summary>
    private const int MaxVersionedAttempts = 4;

    public override async ValueTask<StoreResult> RefillAsync(CacheKey key, ReadOnlyMemory<byte> value, RefillLease lease, long ttlSeconds, CancellationToken cancellationToken)
    {
        var wrapped = ReplicaCopy.WrapValue(_clock.Next(), null, value.Span);
        var usable = lease.Tokens.Select(t => (Node: NodeOf(t), Token: t)).Where(t => Access.IsReadable(t.Node) && LeaseHolds(t.Node, t.Token));
        return await WriteEachAsync(usable, t => StoreOrInvalidateAsync(t.Node, key, new StoreCommand(key, wrapped, StoreMode.Set, ttlSeconds, 0, t.Token.Cas), cancellationToken, t.Token.ConnectionWatermark).AsTask()).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes a tombstone newer than every copy to every replica, each confirmed or fenced, whether or not the caller
    /// waits for it.
    /// </summary>
    public override ValueTask<DeleteStatus> DeleteAsync(CacheKey key, CancellationToken cancellationToken)
        => Context.Invalidations.Detach(WriteTombstonesAsync(key, cancellationToken), cancellationToken, "invalidation", key.Text);

    private async ValueTask<DeleteStatus> WriteTombstonesAsync(CacheKey key, CancellationToken callerLeft)
    {
        var tombstone = ReplicaCopy.WrapTombstone(_clock.Next());
        var ttl = (long)Context.Options.Replication.TombstoneTimeToLive.TotalSeconds;
        var writes = Replicas(key).Select(node => Context.Invalidations.ConfirmOrFenceAsync(node, key, () => new StoreCommand(key, tombstone, StoreMode.Set, ttl, 0, 0), callerLeft).AsTask());
        var outcomes = await Task.WhenAll(writes).ConfigureAwait(false);
        return outcomes.All(o => o.Fenced) ? DeleteStatus.ServerFenced : DeleteStatus.Deleted;
    }

    /// <summary>Writes to every target together; stored when any replica took it, <c>ServerDown</c> when there is none.</summary>
    private static async ValueTask<StoreResult> WriteEachAsync<T>(IEnumerable<T> targets, Func<T, Task<StoreResult>> write)
    {
        var writes = targets.Select(write).ToArray();
        if (writes.Length == 0)
        {
            return new StoreResult(StoreStatus.ServerDown, 0);
        }

        var results = await Task.WhenAll(writes).ConfigureAwait(false);
        return results.FirstOrDefault(r => r.IsStored, results[0]);
    }

    /// <summary>Reads every replica given, together; a replica that fails answers a miss.</summary>
    private async Task<GetResult[]> ReadReplicasAsync(ServerNode[] replicas, Func<GetCommand> command, CancellationToken cancellationToken)
    {
        var reads = new Task<GetResult>[replicas.Length];
        for (var i = 0; i < replicas.Length; i++)
        {
            reads[i] = ReadOrMissAsync(replicas[i], command(), cancellationToken).AsTask();
        }

        return await Task.WhenAll(reads).ConfigureAwait(false);
    }

    /// <summary>What a caller sees of the winning copy: its value without the envelope, or a miss for a tombstone or nothing.</summary>
    private static GetResult Present(ReplicaCopy? newest)
        => newest is { IsTombstone: false } copy ? new GetResult(copy.Value, copy.Flags, copy.Cas) : GetResult.Miss;

    /// <summary>R distinct servers: the key's own, then those of <c>key-0</c>, <c>key-1</c>, ... as PECL's redundancy walks.</summary>
    private List<ServerNode> Replicas(CacheKey key)
    {
        var wanted = Math.Min(Context.Options.Replication.Replicas, Context.Servers.Main.Length);
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
        foreach (var node in Context.Servers.Main)
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
