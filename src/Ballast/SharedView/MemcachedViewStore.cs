using System.Security.Cryptography;
using System.Text;
using Ballast.Pool;
using Ballast.Protocol;
using Ballast.Protocol.Commands;

namespace Ballast.SharedView;

/// <summary>
/// Keeps the shared view's records on a few witness servers of the pool (3, or 5 in pools of 8 and more, chosen
/// from the server list alike on every frontend), one key per server record. A refresh is then one multi-get per
/// witness whatever the pool's size, and the view's traffic grows with the pool's size only in the bytes of a record
/// per server. Publishing must reach <see cref="WriteQuorum"/> witnesses and reading must hear from
/// <see cref="ReadQuorum"/>; the two add up to more than the witness count, so every read that starts after a publish
/// completed sees it. Fenced servers keep holding view records: fencing bars reads of cached data, not the view.
/// </summary>
/// <remarks>
/// memcached forgets: a <c>flush_all</c>, a restart or an eviction erases records. So a record counts only when a
/// read quorum of witnesses holds a valid copy of it (or it says "down", which is safe to believe from one copy), and
/// never when it is older than one this frontend has seen. Anything else is reported lost, and lost servers are not
/// read until <see cref="RecoverLostAsync"/> has flushed them (fail closed). A brand-new pool has no records, so its
/// first frontend flushes every server once, under the recovery lock, before anyone reads it.
/// </remarks>
internal sealed class MemcachedViewStore : IViewStore
{
    private readonly IReadOnlyList<ServerNode> _witnesses;
    private readonly IReadOnlyList<ServerNode> _servers;
    private readonly CacheKey[] _keys;
    private readonly CacheKey _recoveryLock;
    private readonly string _keyPrefix;
    private readonly EpochWatermark _highestSeen;
    private readonly string _frontendId;
    private readonly TimeSpan _lockTimeToLive;
    private readonly TimeSpan _bound;
    private readonly TimeProvider _time;

    /// <param name="main">The main servers, from which witnesses are chosen.</param>
    /// <param name="servers">Every server with a record (main then gutter), in view order.</param>
    /// <param name="poolName">The pool's name, the records' key prefix.</param>
    /// <param name="frontendId">This frontend, as records and locks name it.</param>
    /// <param name="lockTimeToLive">How long the recovery lock lives.</param>
    /// <param name="time">The clock for locks and new epochs.</param>
    /// <param name="bound">The view's bound B: a recovery waits it between fencing a lost server and flushing it.</param>
    public MemcachedViewStore(IReadOnlyList<ServerNode> main, IReadOnlyList<ServerNode> servers, string poolName, string frontendId, TimeSpan lockTimeToLive, TimeProvider time, TimeSpan bound)
    {
        _bound = bound;
        _witnesses = ChooseWitnesses(main);
        _servers = servers;
        _keys = Enumerable.Range(0, servers.Count).Select(i => CacheKey.Create($"{ReservedKeys.Prefix(poolName)}view:{i}", InvalidKeyHandling.Reject).About($"the shared view's record of server {servers[i].EndPoint}")).ToArray();
        _keyPrefix = ReservedKeys.Prefix(poolName);
        _recoveryLock = CacheKey.Create($"{_keyPrefix}recovery", InvalidKeyHandling.Reject).About("the shared view's recovery lock");
        _highestSeen = new EpochWatermark(servers.Count);
        _frontendId = frontendId;
        _lockTimeToLive = lockTimeToLive;
        _time = time;
        // Majorities both ways: any two publishes meet on a witness (so a fence and a readmission cannot both win
        // unseen by each other), and every read meets every publish.
        ReadQuorum = (_witnesses.Count / 2) + 1;
        WriteQuorum = ReadQuorum;
    }

    /// <summary>Never raised: memcached cannot push changes, so the view is polled every quarter of the bound.</summary>
    public event Action? Changed
    {
        add { }
        remove { }
    }

    public int ReadQuorum { get; }

    public int WriteQuorum { get; }

    /// <summary>The servers that hold the records.</summary>
    public IReadOnlyList<ServerNode> Witnesses => _witnesses;

    /// <summary>
    /// The witnesses: every server of pools up to three, else 3 (5 from 8 servers on) chosen by the hash of their
    /// addresses, so every frontend with the same server list picks the same ones, and adding a server moves few.
    /// </summary>
    public static IReadOnlyList<ServerNode> ChooseWitnesses(IReadOnlyList<ServerNode> main)
    {
        var count = main.Count <= 3 ? main.Count : main.Count < 8 ? 3 : 5;
        return main
            .OrderBy(n => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(n.EndPoint.ToString()))), StringComparer.Ordinal)
            .Take(count)
            .OrderBy(n => n.Index)
            .ToArray();
    }

    /// <summary>
    /// Reads every record from every witness at once and merges them (highest epoch wins); records no quorum can vouch
    /// for are reported lost. Witnesses that answered with an older record are repaired in the background with a
    /// record the read trusts, which also restores what a single witness's flush or restart wiped.
    /// </summary>
    public async Task<ViewReadResult> ReadAsync(TimeSpan straggler, TimeProvider time, CancellationToken cancellationToken)
    {
        // Records are judged against the epochs this frontend had seen when the read began. A fence this frontend
        // publishes while the read is in flight raises the watermark, but the witnesses answered before it landed:
        // judged against the raised mark, their (correct, older) records would look rolled back, the server "lost",
        // and the synthetic lost epoch (mark + 1) would collide with the readmission that follows the fence, which
        // this frontend would then never apply.
        var seenAtStart = _highestSeen.Snapshot();

        var (copies, responded) = await ReadCopiesAsync(straggler, cancellationToken).ConfigureAwait(false);
        var isQuorum = responded >= ReadQuorum;
        var entries = new ViewEntry[_keys.Length];
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        for (var i = 0; i < entries.Length; i++)
        {
            var (merged, holders) = Merge(copies, i);
            var highest = seenAtStart[i];
            if (!isQuorum)
            {
                // Too few answers to vouch for anything; a "down" record is safe to take from any one copy.
                entries[i] = merged is { IsDown: true } down && down.Epoch >= highest ? down : ViewEntry.Initial;
            }
            else if (merged is not { } record || record.Epoch < highest || (!record.IsDown && holders < ReadQuorum))
            {
                entries[i] = ViewEntry.Lost(Math.Max(highest, merged?.Epoch ?? 0), now);
                continue;
            }
            else
            {
                entries[i] = record;
            }

            if (entries[i].Epoch > 0)
            {
                _highestSeen.Raise(i, entries[i].Epoch);
                for (var r = 0; r < copies.Length; r++)
                {
                    if (copies[r] is { } copy && (copy[i]?.Epoch ?? -1) < entries[i].Epoch)
                    {
                        _ = PublishToReplicaAsync(_witnesses[r], i, entries[i], CancellationToken.None);
                    }
                }
            }
        }

        return new ViewReadResult(entries, responded, isQuorum);
    }

    /// <summary>
    /// Fences a server: makes every witness's record say "down", and touches a record that already does (a new CAS),
    /// so that a failback that read the record before this fence cannot readmit the server over it. Returns how many
    /// witnesses now hold a fence, and the newest "up" record that overrules <paramref name="proposed"/>, if any (the
    /// caller then fences the epoch after it).
    /// </summary>
    public async Task<PublishResult> FenceAsync(int index, ViewEntry proposed, TimeSpan straggler, TimeProvider time, CancellationToken cancellationToken)
    {
        var writes = _witnesses.Select(witness => FenceReplicaAsync(witness, index, proposed, cancellationToken)).ToArray();
        await QuorumWait.WhenQuorumAsync(writes, r => r.Holds, WriteQuorum, straggler, time, cancellationToken).ConfigureAwait(false);
        var results = writes.Where(w => w.IsCompletedSuccessfully).Select(w => w.Result).ToArray();
        var contradiction = results.Where(r => r.Contradiction is not null).Select(r => r.Contradiction!.Value).OrderByDescending(e => e.Epoch).FirstOrDefault();
        var holding = results.Count(r => r.Holds);
        if (holding >= WriteQuorum)
        {
            _highestSeen.Raise(index, proposed.Epoch);
        }

        return new PublishResult(holding, contradiction.Epoch > 0 ? contradiction : null);
    }

    /// <summary>Reads a server's record, with its CAS, from every witness: what a failback must see unchanged after its flush.</summary>
    public async Task<RecordSnapshot[]> SnapshotAsync(int index, TimeSpan straggler, TimeProvider time, CancellationToken cancellationToken)
    {
        var reads = _witnesses.Select(witness => SnapshotReplicaAsync(witness, index, cancellationToken)).ToArray();
        await QuorumWait.WhenQuorumAsync(reads, r => r is not null, ReadQuorum, straggler, time, cancellationToken).ConfigureAwait(false);
        return reads.Where(r => r.IsCompletedSuccessfully && r.Result is not null).Select(r => r.Result!.Value).ToArray();
    }

    /// <summary>
    /// Readmits a server after its flush: writes <paramref name="up"/> over each witness's record only if it is still
    /// the one <paramref name="before"/> read before the flush (compare-and-swap). A fence that touched the record in
    /// between makes the swap fail there. A flushed witness lost every record it held, so there the record is added,
    /// and the other records are put back from a read the other witnesses vouch for.
    /// </summary>
    public async Task<int> ReadmitAsync(int index, ViewEntry up, RecordSnapshot[] before, ServerNode flushed, CancellationToken cancellationToken)
    {
        var swapped = await SwapAllAsync(index, up, before, [flushed], cancellationToken).ConfigureAwait(false);
        if (swapped >= WriteQuorum)
        {
            _highestSeen.Raise(index, up.Epoch);
        }

        await RestoreFlushedWitnessesAsync([flushed], cancellationToken).ConfigureAwait(false);
        return swapped;
    }

    /// <inheritdoc />
    /// <remarks>
    /// The lock is the seed's <c>add</c> of <c>last_failback:&lt;n&gt;:&lt;epoch&gt;</c>, on the witnesses other than
    /// the returning server (on that server itself only in a one-server pool), taken in index order and held on a
    /// majority of them. The fixed order means two frontends meet on the first witness that answers instead of
    /// splitting the set; a frontend that loses there releases what it took.
    /// </remarks>
    public async Task<bool?> TryTakeFailbackLockAsync(int index, long epoch, CancellationToken cancellationToken)
    {
        var holders = FailbackLockHolders(index);
        var key = FailbackLockKey(index, epoch);
        var majority = (holders.Count / 2) + 1;
        var taken = new List<ServerNode>();
        var refused = false;
        foreach (var holder in holders)
        {
            var result = await ViewLock.TryTakeAsync(holder, key, _frontendId, _lockTimeToLive, _time, cancellationToken).ConfigureAwait(false);
            if (result == true)
            {
                taken.Add(holder);
            }
            else if (result == false)
            {
                // Another frontend holds it here: it came first (the order is the same for all).
                refused = true;
                break;
            }

            if (taken.Count >= majority)
            {
                return true;
            }
        }

        foreach (var holder in taken)
        {
            await ViewLock.ReleaseAsync(holder, key, _frontendId, CancellationToken.None).ConfigureAwait(false);
        }

        return refused && taken.Count == 0 ? false : null;
    }

    /// <inheritdoc />
    public Task RenewFailbackLockAsync(int index, long epoch, CancellationToken cancellationToken)
        => Task.WhenAll(FailbackLockHolders(index).Select(holder => RenewLockAsync(holder, FailbackLockKey(index, epoch), cancellationToken)));

    private Task RenewLockAsync(ServerNode holder, CacheKey key, CancellationToken cancellationToken)
        => ViewLock.RenewAsync(holder, key, _frontendId, _lockTimeToLive, _time, cancellationToken);

    private IReadOnlyList<ServerNode> FailbackLockHolders(int index)
    {
        var others = _witnesses.Where(w => !ReferenceEquals(w, _servers[index])).ToArray();
        return others.Length > 0 ? others : [_servers[index]];
    }

    private CacheKey FailbackLockKey(int index, long epoch)
        => CacheKey.Create($"{_keyPrefix}last_failback:{index}:{epoch}", InvalidKeyHandling.Reject).About($"the failback lock of server {_servers[index].EndPoint} (epoch {epoch})");

    /// <inheritdoc />
    public async Task<LostRecovery> RecoverLostAsync(IReadOnlyList<int> lost, CancellationToken cancellationToken)
    {
        var locks = await Task.WhenAll(_witnesses.Select(w => ViewLock.TryTakeAsync(w, _recoveryLock, _frontendId, _lockTimeToLive, _time, cancellationToken))).ConfigureAwait(false);
        try
        {
            if (locks.Count(held => held == true) < WriteQuorum)
            {
                return locks.Any(held => held == false) ? LostRecovery.HeldElsewhere : LostRecovery.None;
            }

            // Under the lock, look again: another frontend may have recovered them just before.
            var read = await ReadAsync(_lockTimeToLive / 4, _time, cancellationToken).ConfigureAwait(false);
            var stillLost = lost.Where(i => read.IsQuorum && read.Entries[i].AwaitsRecovery).ToArray();

            // Fence before the flush. A lost record says nothing of who still uses the server: frontends that have not
            // read the loss yet keep reading and writing it, and a flush under them restarts its counters while they
            // hand out numbers. A fence on a write quorum, then a wait of the bound, means every frontend still allowed
            // to read has read the fence. (Its record is written by "lost", which the per-server failback leaves to
            // this recovery.)
            var fencedAt = _time.GetUtcNow().ToUnixTimeMilliseconds();
            var fenced = new List<int>();
            var someoneMayUseThem = stillLost.Any(i => !read.Entries[i].IsUnknownToEveryone);
            foreach (var i in stillLost)
            {
                if (read.Entries[i].IsUnknownToEveryone)
                {
                    // Nobody was ever told it is up: nothing to fence, and a new pool's first read stays as quick as it was.
                    fenced.Add(i);
                    continue;
                }

                var fence = new ViewEntry(read.Entries[i].Epoch, IsDown: true, fencedAt, ViewEntry.LostWriter);
                if ((await FenceAsync(i, fence, _lockTimeToLive / 4, _time, cancellationToken).ConfigureAwait(false)).Holding >= WriteQuorum)
                {
                    fenced.Add(i);
                }
            }

            if (fenced.Count == 0)
            {
                return LostRecovery.None;
            }

            if (someoneMayUseThem)
            {
                await Task.Delay(_bound, _time, cancellationToken).ConfigureAwait(false);
            }
            var snapshots = new Dictionary<int, RecordSnapshot[]>();
            foreach (var i in fenced)
            {
                snapshots[i] = await SnapshotAsync(i, _lockTimeToLive / 4, _time, cancellationToken).ConfigureAwait(false);
            }

            // Flush only what is still lost. This recovery's own flushes wipe the lock on witnesses that are among the
            // lost servers, so another frontend's recovery can overlap this one and readmit a server meanwhile; a
            // flush after that readmission would restart its counters under frontends already using it (a CI chaos
            // run handed counter values out twice that way, with no fault on the server). A record newer than the
            // one this recovery read, and up, is that readmission: leave it.
            stillLost = [.. fenced.Where(i => !snapshots[i].Any(copy => copy.Entry is { IsDown: false } up && up.Epoch > read.Entries[i].Epoch))];

            // Flush first, write after: a record written before another lost server's flush would be wiped by it.
            var flushed = new List<ServerNode>();
            foreach (var (i, ok) in await Task.WhenAll(stillLost.Select(async i => (i, await EpochWatermark.FlushAsync(_servers[i], cancellationToken).ConfigureAwait(false)))).ConfigureAwait(false))
            {
                if (ok && snapshots[i].Length >= ReadQuorum)
                {
                    flushed.Add(_servers[i]);
                }
            }

            // Put this recovery's lock back where its flushes wiped it, so no other recovery starts under it.
            await Task.WhenAll(flushed.Where(_witnesses.Contains).Select(w => RenewLockAsync(w, _recoveryLock, cancellationToken))).ConfigureAwait(false);

            var recovered = new List<int>();
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            foreach (var node in flushed)
            {
                var i = node.Index;
                var up = _highestSeen.Recovered(i, now, _frontendId);
                if (await SwapAllAsync(i, up, snapshots[i], flushed, cancellationToken).ConfigureAwait(false) >= WriteQuorum)
                {
                    _highestSeen.Raise(i, up.Epoch);
                    recovered.Add(i);
                }
            }

            await RestoreFlushedWitnessesAsync(flushed, cancellationToken).ConfigureAwait(false);
            return new LostRecovery(recovered, false);
        }
        finally
        {
            for (var w = 0; w < locks.Length; w++)
            {
                if (locks[w] == true)
                {
                    await ViewLock.ReleaseAsync(_witnesses[w], _recoveryLock, _frontendId, CancellationToken.None).ConfigureAwait(false);
                }
            }
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>The newest valid copy of record <paramref name="index"/>, and how many witnesses hold a valid copy.</summary>
    private static (ViewEntry? Merged, int Holders) Merge(ViewEntry?[]?[] copies, int index)
    {
        ViewEntry? merged = null;
        var holders = 0;
        foreach (var copy in copies)
        {
            if (copy?[index] is { } entry)
            {
                holders++;
                if (merged is not { } best || entry.Epoch > best.Epoch)
                {
                    merged = entry;
                }
            }
        }

        return (merged, holders);
    }

    private async Task<(ViewEntry?[]?[] Copies, int Responded)> ReadCopiesAsync(TimeSpan straggler, CancellationToken cancellationToken)
    {
        var reads = _witnesses.Select(witness => ReadReplicaAsync(witness, cancellationToken)).ToArray();
        await QuorumWait.WhenQuorumAsync(reads, copy => copy is not null, ReadQuorum, straggler, _time, cancellationToken).ConfigureAwait(false);
        var copies = reads.Select(r => r.IsCompletedSuccessfully ? r.Result : null).ToArray();
        return (copies, copies.Count(c => c is not null));
    }

    /// <summary>
    /// After a flush of witnesses, puts back every record they lost, from the other witnesses: only records that a
    /// quorum of unflushed witnesses vouches for (or "down" ones), and only with <c>add</c>, so a fence that reached a
    /// flushed witness since wins. A record that cannot be vouched for is left out: reads then find it lost.
    /// </summary>
    private async Task RestoreFlushedWitnessesAsync(IReadOnlyList<ServerNode> flushed, CancellationToken cancellationToken)
    {
        var flushedWitnesses = _witnesses.Where(flushed.Contains).ToArray();
        if (flushedWitnesses.Length == 0)
        {
            return;
        }

        var (copies, _) = await ReadCopiesAsync(_lockTimeToLive / 4, cancellationToken).ConfigureAwait(false);
        for (var w = 0; w < copies.Length; w++)
        {
            if (flushedWitnesses.Contains(_witnesses[w]))
            {
                copies[w] = null;
            }
        }

        for (var i = 0; i < _keys.Length; i++)
        {
            var (merged, holders) = Merge(copies, i);
            if (merged is not { } record || (!record.IsDown && holders < ReadQuorum))
            {
                continue;
            }

            foreach (var witness in flushedWitnesses)
            {
                try
                {
                    await SwapRecordAsync(witness, _keys[i], record.Encode(), 0, cancellationToken).ConfigureAwait(false);
                }
                catch (MemcachedException)
                {
                    // Read repair puts it back later.
                }
            }
        }
    }

    /// <summary>Writes <paramref name="up"/> on every witness in <paramref name="before"/> where its record is unchanged; adds it on flushed witnesses.</summary>
    private async Task<int> SwapAllAsync(int index, ViewEntry up, RecordSnapshot[] before, IReadOnlyList<ServerNode> flushed, CancellationToken cancellationToken)
    {
        var key = _keys[index];
        var value = up.Encode();
        var writes = before.Select(async snapshot =>
        {
            try
            {
                var cas = flushed.Contains(snapshot.Replica!) ? 0 : snapshot.Cas;
                return await SwapRecordAsync(snapshot.Replica!, key, value, cas, cancellationToken).ConfigureAwait(false);
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
            var results = await replica.ExecuteAsync(new MultiGetCommand(_keys, "the shared view's records"), cancellationToken, evenIfDown: true).ConfigureAwait(false);
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
    /// Compare-and-swap loop for read repair: the record on a witness only ever moves to a higher epoch, however
    /// publishes from different frontends interleave. An invalid record is replaced.
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
    /// Fence on one witness, compare-and-swap so that concurrent writers never lose each other's updates: a "down"
    /// record is touched (rewritten at its own epoch, which changes its CAS), an older "up" record (or an invalid
    /// one) is replaced by the proposed fence, and a newer "up" record overrules it.
    /// </summary>
    private async Task<(bool Holds, ViewEntry? Contradiction)> FenceReplicaAsync(ServerNode replica, int index, ViewEntry proposed, CancellationToken cancellationToken)
    {
        var key = _keys[index];
        try
        {
            var current = await replica.ExecuteAsync(new GetCommand(key), cancellationToken, evenIfDown: true).ConfigureAwait(false);
            var target = proposed with { IsLost = false };
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
    /// Writes a record on one witness only if it is still the one read with <paramref name="cas"/>; a CAS of 0 means
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
