using Ballast.Pool;
using Ballast.Protocol;
using Ballast.Protocol.Commands;

namespace Ballast.SharedView;

/// <summary>
/// Keeps the shared view's records on the memcached servers themselves, one key per server record, on every replica.
/// Publishing must reach <see cref="WriteQuorum"/> replicas and reading must hear from <see cref="ReadQuorum"/>;
/// the two add up to more than the replica count, so every read that starts after a publish completed sees it,
/// whichever replicas either side could reach. That is what lets a frontend cut off from a server learn, within the
/// bound, that another frontend fenced it. Fenced servers keep holding view records: fencing bars reads of cached
/// data, not the view, so a pool with one fenced and one dead server of three still has its quorum.
/// </summary>
internal sealed class SharedViewStore
{
    private readonly IReadOnlyList<ServerNode> _replicas;
    private readonly CacheKey[] _keys;

    public SharedViewStore(IReadOnlyList<ServerNode> replicas, string poolName, int entryCount)
    {
        _replicas = replicas;
        _keys = Enumerable.Range(0, entryCount).Select(i => CacheKey.Create(KeyPrefix(poolName) + "view:" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), InvalidKeyHandling.Reject)).ToArray();
        // Majorities both ways: any two publishes meet on a replica (so a fence and a readmission cannot both win
        // unseen by each other), and every read meets every publish.
        ReadQuorum = (replicas.Count / 2) + 1;
        WriteQuorum = ReadQuorum;
    }

    public int ReadQuorum { get; }

    /// <summary>
    /// The prefix of the records Ballast keeps for a pool (the view's <c>ballast:{pool}:view:N</c>, the failback locks).
    /// Application keys may not start with it: a store to a view record could lift a fence, and reads of a fenced
    /// server would serve stale values.
    /// </summary>
    public static string KeyPrefix(string poolName) => $"ballast:{poolName}:";

    public int WriteQuorum { get; }

    public int EntryCount => _keys.Length;

    /// <summary>
    /// Reads every record from every replica at once and merges them (highest epoch wins). Replicas that answered
    /// with an older record are repaired in the background, which also restores the records a flush wiped.
    /// </summary>
    public async Task<ViewReadResult> ReadAsync(TimeSpan straggler, TimeProvider time, CancellationToken cancellationToken)
    {
        var reads = _replicas.Select(replica => ReadReplicaAsync(replica, cancellationToken)).ToArray();

        await QuorumWait.WhenQuorumAsync(reads, copy => copy is not null, ReadQuorum, straggler, time, cancellationToken).ConfigureAwait(false);
        var copies = reads.Select(r => r.IsCompletedSuccessfully ? r.Result : null).ToArray();
        var merged = new ViewEntry[_keys.Length];
        Array.Fill(merged, ViewEntry.Initial);
        var responded = 0;
        foreach (var copy in copies)
        {
            if (copy is null)
            {
                continue;
            }

            responded++;
            for (var i = 0; i < merged.Length; i++)
            {
                if (copy[i] is { } entry && entry.Epoch > merged[i].Epoch)
                {
                    merged[i] = entry;
                }
            }
        }

        for (var r = 0; r < copies.Length; r++)
        {
            for (var i = 0; i < merged.Length; i++)
            {
                if (copies[r] is { } copy && merged[i].Epoch > 0 && (copy[i]?.Epoch ?? -1) < merged[i].Epoch)
                {
                    _ = PublishToReplicaAsync(_replicas[r], i, merged[i], CancellationToken.None);
                }
            }
        }

        return new ViewReadResult(merged, responded, responded >= ReadQuorum);
    }

    /// <summary>
    /// Fences a server: makes every replica's record say "down", and touches a record that already does (a new CAS),
    /// so that a failback that read the record before this fence cannot readmit the server over it. Returns how many
    /// replicas now hold a fence, and the newest "up" record that overrules <paramref name="proposed"/>, if any (the
    /// caller then fences the epoch after it).
    /// </summary>
    public async Task<PublishResult> FenceAsync(int index, ViewEntry proposed, TimeSpan straggler, TimeProvider time, CancellationToken cancellationToken)
    {
        var writes = _replicas.Select(replica => FenceReplicaAsync(replica, index, proposed, cancellationToken)).ToArray();
        await QuorumWait.WhenQuorumAsync(writes, r => r.Holds, WriteQuorum, straggler, time, cancellationToken).ConfigureAwait(false);
        var results = writes.Where(w => w.IsCompletedSuccessfully).Select(w => w.Result).ToArray();
        var contradiction = results.Where(r => r.Contradiction is not null).Select(r => r.Contradiction!.Value).OrderByDescending(e => e.Epoch).FirstOrDefault();
        return new PublishResult(results.Count(r => r.Holds), contradiction.Epoch > 0 ? contradiction : null);
    }

    /// <summary>
    /// Reads a server's record, with its CAS, from every replica: what a failback must see unchanged after its flush.
    /// </summary>
    public async Task<RecordSnapshot[]> SnapshotAsync(int index, TimeSpan straggler, TimeProvider time, CancellationToken cancellationToken)
    {
        var reads = _replicas.Select(replica => SnapshotReplicaAsync(replica, index, cancellationToken)).ToArray();
        await QuorumWait.WhenQuorumAsync(reads, r => r is not null, ReadQuorum, straggler, time, cancellationToken).ConfigureAwait(false);
        return reads.Where(r => r.IsCompletedSuccessfully && r.Result is not null).Select(r => r.Result!.Value).ToArray();
    }

    /// <summary>
    /// Readmits a server after its flush: writes <paramref name="up"/> over each replica's record only if it is still
    /// the one <paramref name="before"/> read before the flush (compare-and-swap). A fence that touched the record in
    /// between makes the swap fail there. The flushed server's own copy was wiped by the flush, so there it is added.
    /// Returns how many replicas took it.
    /// </summary>
    public async Task<int> ReadmitAsync(int index, ViewEntry up, RecordSnapshot[] before, ServerNode flushed, CancellationToken cancellationToken)
    {
        var key = _keys[index];
        var value = up.Encode();
        var writes = before.Select(async snapshot =>
        {
            try
            {
                var cas = snapshot.Replica == flushed ? 0 : snapshot.Cas;
                return await SwapRecordAsync(snapshot.Replica, key, value, cas, cancellationToken).ConfigureAwait(false);
            }
            catch (MemcachedException)
            {
                return false;
            }
        });
        var results = await Task.WhenAll(writes).ConfigureAwait(false);
        return results.Count(ok => ok);
    }

    private async Task<ViewEntry?[]?> ReadReplicaAsync(ServerNode replica, CancellationToken cancellationToken)
    {
        try
        {
            var results = await replica.ExecuteAsync(new MultiGetCommand(_keys), cancellationToken, evenIfDown: true).ConfigureAwait(false);
            var entries = new ViewEntry?[results.Length];
            for (var i = 0; i < results.Length; i++)
            {
                if (results[i].Value is { } bytes && ViewEntry.TryDecode(bytes, out var entry))
                {
                    entries[i] = entry;
                }
            }

            return entries;
        }
        catch (MemcachedException)
        {
            return null;
        }
    }

    private async Task<RecordSnapshot?> SnapshotReplicaAsync(ServerNode replica, int index, CancellationToken cancellationToken)
    {
        try
        {
            var current = await replica.ExecuteAsync(new GetCommand(_keys[index]), cancellationToken, evenIfDown: true).ConfigureAwait(false);
            ViewEntry? entry = current.Value is { } bytes && ViewEntry.TryDecode(bytes, out var decoded) ? decoded : null;
            return new RecordSnapshot(replica, entry, current.IsHit ? current.Cas : 0);
        }
        catch (MemcachedException)
        {
            return null;
        }
    }

    /// <summary>
    /// Compare-and-swap loop for read repair: the record on a replica only ever moves to a higher epoch, however
    /// publishes from different frontends interleave.
    /// </summary>
    private async Task PublishToReplicaAsync(ServerNode replica, int index, ViewEntry entry, CancellationToken cancellationToken)
    {
        var key = _keys[index];
        var value = entry.Encode();
        try
        {
            for (var attempt = 0; attempt < 5; attempt++)
            {
                var current = await replica.ExecuteAsync(new GetCommand(key), cancellationToken, evenIfDown: true).ConfigureAwait(false);
                if (current.Value is { } bytes && ViewEntry.TryDecode(bytes, out var existing) && existing.Epoch >= entry.Epoch)
                {
                    return;
                }

                if (await SwapRecordAsync(replica, key, value, current.IsHit ? current.Cas : 0, cancellationToken).ConfigureAwait(false))
                {
                    return;
                }
            }
        }
        catch (MemcachedException)
        {
            // Repair is best effort; the next read tries again.
        }
    }

    /// <summary>
    /// Fence on one replica, compare-and-swap so that concurrent writers never lose each other's updates: a "down"
    /// record is touched (rewritten at its own epoch, which changes its CAS), an older "up" record is replaced by
    /// the proposed fence, and a newer "up" record overrules it.
    /// </summary>
    private async Task<(bool Holds, ViewEntry? Contradiction)> FenceReplicaAsync(ServerNode replica, int index, ViewEntry proposed, CancellationToken cancellationToken)
    {
        var key = _keys[index];
        try
        {
            var current = await replica.ExecuteAsync(new GetCommand(key), cancellationToken, evenIfDown: true).ConfigureAwait(false);
            var target = proposed;
            if (current.Value is { } bytes && ViewEntry.TryDecode(bytes, out var existing))
            {
                if (!existing.IsDown && existing.Epoch >= proposed.Epoch)
                {
                    return (false, existing);
                }

                if (existing.IsDown && existing.Epoch >= proposed.Epoch)
                {
                    target = existing with { ChangedAtUnixMs = proposed.ChangedAtUnixMs, Writer = proposed.Writer };
                }
            }

            if (await SwapRecordAsync(replica, key, target.Encode(), current.IsHit ? current.Cas : 0, cancellationToken).ConfigureAwait(false))
            {
                return (true, null);
            }

            // Someone changed the record since it was read, so after this fence began: if it now says "down", that
            // change fences as well as this one would (a failback's snapshot from before it no longer matches).
            var now = await replica.ExecuteAsync(new GetCommand(key), cancellationToken, evenIfDown: true).ConfigureAwait(false);
            if (now.Value is { } after && ViewEntry.TryDecode(after, out var changed))
            {
                return changed.IsDown ? (true, null) : (false, changed.Epoch >= proposed.Epoch ? changed : null);
            }

            return (false, null);
        }
        catch (MemcachedException)
        {
            return (false, null);
        }
    }

    /// <summary>
    /// Writes a record on one replica only if it is still the one read with <paramref name="cas"/>; a CAS of 0 means
    /// no record was there, and the write then succeeds only if none has appeared since (<c>add</c>). Every change
    /// of a view record goes through here, so no writer can overwrite another's change unseen.
    /// </summary>
    private static async Task<bool> SwapRecordAsync(ServerNode replica, CacheKey key, byte[] record, ulong cas, CancellationToken cancellationToken)
    {
        var mode = cas == 0 ? StoreMode.Add : StoreMode.Set;
        var stored = await replica.ExecuteAsync(new StoreCommand(key, record, mode, 0, 0, cas), cancellationToken, evenIfDown: true).ConfigureAwait(false);
        return stored.IsStored;
    }
}
