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
        _keys = Enumerable.Range(0, entryCount).Select(i => CacheKey.Create($"ballast:{poolName}:view:{i}", InvalidKeyHandling.Reject)).ToArray();
        ReadQuorum = (replicas.Count / 2) + 1;
        WriteQuorum = replicas.Count - ReadQuorum + 1;
    }

    public int ReadQuorum { get; }

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
    /// Writes a record to every replica. Returns how many now hold it (or a newer record in the same state), and the
    /// newest record that contradicts it (a newer epoch in the other state), if some replica has one.
    /// </summary>
    public async Task<PublishResult> PublishAsync(int index, ViewEntry entry, TimeSpan straggler, TimeProvider time, CancellationToken cancellationToken)
    {
        var writes = _replicas.Select(replica => PublishToReplicaAsync(replica, index, entry, cancellationToken)).ToArray();
        await QuorumWait.WhenQuorumAsync(writes, r => r.Holds, WriteQuorum, straggler, time, cancellationToken).ConfigureAwait(false);
        var results = writes.Where(w => w.IsCompletedSuccessfully).Select(w => w.Result).ToArray();
        var contradiction = results.Where(r => r.Contradiction is not null).Select(r => r.Contradiction!.Value).OrderByDescending(e => e.Epoch).FirstOrDefault();
        return new PublishResult(results.Count(r => r.Holds), contradiction.Epoch > 0 ? contradiction : null);
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

    /// <summary>
    /// Compare-and-swap loop: the record on a replica only ever moves to a higher epoch, however publishes from
    /// different frontends interleave.
    /// </summary>
    private async Task<(bool Holds, ViewEntry? Contradiction)> PublishToReplicaAsync(ServerNode replica, int index, ViewEntry entry, CancellationToken cancellationToken)
    {
        var key = _keys[index];
        var value = entry.Encode();
        try
        {
            for (var attempt = 0; attempt < 5; attempt++)
            {
                var current = await replica.ExecuteAsync(new GetCommand(key), cancellationToken, evenIfDown: true).ConfigureAwait(false);
                StoreResult stored;
                if (current.Value is { } bytes && ViewEntry.TryDecode(bytes, out var existing))
                {
                    // Transitions alternate down and up, so an epoch fixes the state: a newer record in the same state
                    // still says what this one says; one in the other state overrules it.
                    if (existing.Epoch >= entry.Epoch)
                    {
                        return existing.IsDown == entry.IsDown ? (true, null) : (false, existing);
                    }

                    stored = await replica.ExecuteAsync(new StoreCommand(key, value, StoreMode.Set, 0, 0, current.Cas), cancellationToken, evenIfDown: true).ConfigureAwait(false);
                }
                else
                {
                    stored = await replica.ExecuteAsync(new StoreCommand(key, value, current.IsHit ? StoreMode.Set : StoreMode.Add, 0, 0, current.Cas), cancellationToken, evenIfDown: true).ConfigureAwait(false);
                }

                if (stored.IsStored)
                {
                    return (true, null);
                }
            }

            return (false, null);
        }
        catch (MemcachedException)
        {
            return (false, null);
        }
    }
}
