using System.Globalization;
using Ballast.Pool;

namespace Ballast.SharedView;

/// <summary>
/// The shared view's protocol, written once over any <see cref="ISharedViewStore"/>: which copies of a record count,
/// fencing, readmission after a flush, the failback lock, and the recovery of lost records. Reads must hear from
/// <see cref="ReadQuorum"/> replicas and publishes must reach <see cref="WriteQuorum"/>; both are majorities, so any
/// read that starts after a publish completed sees it, and any two publishes meet on a replica. A store with one
/// replica (etcd) is its own quorum.
/// </summary>
/// <remarks>
/// A store may forget: a memcached witness loses its records to a <c>flush_all</c>, a restart or an eviction, and an
/// etcd restored from a backup goes back in time. So a record counts only when a read quorum holds a valid copy of it
/// (or it says "down", which is safe to believe from one copy), and never when it is older than one this frontend has
/// seen (<see cref="EpochWatermark"/>). Anything else is reported lost, and lost servers are not read until
/// <see cref="RecoverLostAsync"/> has fenced them, waited the bound and flushed them (fail closed).
/// docs/view-protocol.md describes the records, keys, quorums, CAS rules and locks.
/// </remarks>
internal sealed class ViewProtocol : IAsyncDisposable
{
    private const string RecoveryLock = "recovery";

    private readonly ISharedViewStore _store;
    private readonly IReadOnlyList<ServerNode> _servers;
    private readonly string _frontendId;
    private readonly TimeSpan _bound;
    private readonly TimeSpan _lockTimeToLive;
    private readonly TimeProvider _time;
    private readonly EpochWatermark _highestSeen;
    private readonly int[] _replicas;
    private readonly FenceEvidence _evidence;

    // 1 while an operation of this frontend holds the pool-wide lock. The lock's owner is the frontend, and a frontend
    // that holds it takes it again at once (an answer lost in flight must not lock it out), so two operations of one
    // frontend (the failbacks of two witnesses, a recovery beside them) would both hold it: this keeps them apart.
    private int _poolOperation;

    // The failback locks this frontend took, and when (see RenewFailbackLocksHeldAsync).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(int Index, long Epoch), long> _failbackLocksHeld = new();
    private readonly ViewRecordSeal _seal;
    private readonly string[] _recordNames;

    /// <param name="store">Where the records live.</param>
    /// <param name="servers">Every server with a record (main then gutter), in view order; lost ones are flushed from here.</param>
    /// <param name="frontendId">This frontend, as records and locks name it.</param>
    /// <param name="bound">The view's bound B: a recovery waits it between fencing a lost server and flushing it.</param>
    /// <param name="lockTimeToLive">How long locks live.</param>
    /// <param name="time">The clock for locks and new epochs.</param>
    /// <param name="readOnly">True for a client that must never write the view or flush (<see cref="SharedViewOptions.ReadOnly"/>).</param>
    /// <param name="seal">How records are sealed with the pool's secret (<see cref="ViewRecordSeal"/>); none by default.</param>
    /// <param name="evidence">Where fences known held by a write quorum are noted (shared with <see cref="ServerAccess"/>); a new one by default.</param>
    public ViewProtocol(ISharedViewStore store, IReadOnlyList<ServerNode> servers, string frontendId, TimeSpan bound, TimeSpan lockTimeToLive, TimeProvider time, bool readOnly = false, ViewRecordSeal? seal = null, FenceEvidence? evidence = null)
    {
        IsReadOnly = readOnly;
        _seal = seal ?? ViewRecordSeal.None;
        _recordNames = [.. Enumerable.Range(0, servers.Count).Select(i => _seal.RecordName(i))];
        _store = store;
        _servers = servers;
        _frontendId = frontendId;
        _bound = bound;
        _lockTimeToLive = lockTimeToLive;
        _time = time;
        _highestSeen = new EpochWatermark(servers.Count);
        _replicas = Enumerable.Range(0, store.ReplicaCount).ToArray();
        _evidence = evidence ?? new FenceEvidence(servers.Count, time);
        ReadQuorum = (store.ReplicaCount / 2) + 1;
        WriteQuorum = ReadQuorum;
    }

    /// <summary>True when this frontend never writes the view or flushes: fences, locks and recoveries all fail.</summary>
    public bool IsReadOnly { get; }

    /// <summary>How many replicas a read must hear from for it to renew the view's lease.</summary>
    public int ReadQuorum { get; }

    /// <summary>How many replicas must hold a publish for it to count.</summary>
    public int WriteQuorum { get; }

    /// <summary>The store underneath.</summary>
    public ISharedViewStore Store => _store;

    /// <summary>Raised when the store pushes a change (etcd's watch); never by a polled store.</summary>
    public event Action? Changed
    {
        add => _store.Changed += value;
        remove => _store.Changed -= value;
    }

    /// <summary>
    /// How long the fence of server <paramref name="index"/> at <paramref name="epoch"/> (or a later one) is known to
    /// have been held by a write quorum of replicas; null when this frontend has not seen it so held. Once that is the
    /// bound B, every frontend that could still read or count on the server has read the fence and stopped (a
    /// frontend reads only while its last quorum read began within B, and every quorum read that began after the
    /// fence was held sees it): only then may the server be flushed.
    /// </summary>
    public TimeSpan? FenceHeldFor(int index, long epoch) => _evidence.HeldFor(index, epoch);

    /// <summary>True when <paramref name="node"/> hosts a replica of the view (a witness): its flush erases records.</summary>
    public bool HostsReplica(ServerNode node) => ReplicaHostedBy(node.Index) is not null;

    /// <summary>The replica that server <paramref name="index"/> hosts (as a witness), or null when it hosts none.</summary>
    private int? ReplicaHostedBy(int index)
    {
        foreach (var r in _replicas)
        {
            if (_store.ServerHostingReplica(r) == index)
            {
                return r;
            }
        }

        return null;
    }

    /// <summary>
    /// Reads every record from every replica at once and merges them (highest epoch wins); records no quorum can vouch
    /// for are reported lost. Replicas that answered with an older record are repaired in the background with a
    /// record the read trusts, which also restores what a single witness's flush or restart wiped.
    /// </summary>
    public async Task<ViewReadResult> ReadAsync(TimeSpan straggler, CancellationToken cancellationToken)
    {
        // Records are judged against the epochs this frontend had seen when the read began. A fence this frontend
        // publishes while the read is in flight raises the watermark, but the replicas answered before it landed:
        // judged against the raised mark, their (correct, older) records would look rolled back, the server "lost",
        // and the synthetic lost epoch (mark + 1) would collide with the readmission that follows the fence, which
        // this frontend would then never apply.
        var seenAtStart = _highestSeen.Snapshot();

        var (copies, responded) = await ReadCopiesAsync(straggler, cancellationToken).ConfigureAwait(false);
        var isQuorum = responded >= ReadQuorum;
        var entries = new ViewEntry[_servers.Count];
        var emptied = new List<int>();
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        for (var i = 0; i < entries.Length; i++)
        {
            var (merged, holders) = Merge(copies, i);
            var highest = seenAtStart[i];
            if (merged is { IsDown: true } fence && HoldersAt(copies, i, fence.Epoch, down: true) >= WriteQuorum)
            {
                _evidence.HeldBy(i, fence.Epoch);
            }

            if (!isQuorum)
            {
                // Too few answers to vouch for anything; a "down" record is safe to take from any one copy.
                entries[i] = merged is { IsDown: true } down && down.Epoch >= highest ? down : ViewEntry.Initial;
            }
            else if (merged is not { } record || record.Epoch < highest || (!record.IsDown && !IsVouchedFor(holders, HoldersAt(copies, i, record.Epoch, down: false))))
            {
                entries[i] = ViewEntry.Lost(Math.Max(highest, merged?.Epoch ?? 0), now);
                continue;
            }
            else
            {
                entries[i] = record;
                if (!record.IsDown && record.Epoch <= highest && OwnCopyMissing(copies, i))
                {
                    emptied.Add(i);
                }
            }

            if (entries[i].Epoch > 0)
            {
                _highestSeen.Raise(i, entries[i].Epoch);
                for (var r = 0; r < copies.Length && !IsReadOnly; r++)
                {
                    // Not the emptied server's own copy: left missing, every frontend's next read finds it emptied
                    // too (a read made for a failback or a recovery would otherwise repair it before any refresh saw).
                    if (copies[r] is { } copy && (copy[i]?.Epoch ?? -1) < entries[i].Epoch && !(emptied.Contains(i) && ReplicaHostedBy(i) == r))
                    {
                        _ = RepairReplicaAsync(r, i, entries[i], CancellationToken.None);
                    }
                }
            }
        }

        return new ViewReadResult(entries, responded, isQuorum, emptied.Count == 0 ? null : [.. emptied]);
    }

    /// <summary>
    /// True when server <paramref name="index"/> hosts a replica that answered this read without the server's own
    /// record. The others vouch for the record, so the copy was not lost with the others: the server itself lost what
    /// it held (restarted, or flushed by someone other than a failback), and its counters start again. Killed under a
    /// blackhole, a server restarted without one reset reaching any frontend: its timeouts did not reach the count that
    /// marks it down, new connections found it answering, and counters it had handed out were handed out again
    /// (simulator seed offline 3003880).
    /// </summary>
    private bool OwnCopyMissing(ViewEntry?[]?[] copies, int index)
        => ReplicaHostedBy(index) is { } own && copies[own] is { } answered && answered[index] is null;

    /// <summary>
    /// Fences a server: makes every replica's record say "down", and touches a record that already does (a new
    /// version), so that a failback that read the record before this fence cannot readmit the server over it. Returns
    /// how many replicas now hold a fence, and the newest "up" record that overrules <paramref name="proposed"/>, if
    /// any (the caller then fences the epoch after it).
    /// </summary>
    public async Task<PublishResult> FenceAsync(int index, ViewEntry proposed, TimeSpan straggler, CancellationToken cancellationToken)
    {
        if (IsReadOnly)
        {
            return new PublishResult(0, null);
        }

        var writes = _replicas.Select(r => FenceReplicaAsync(r, index, proposed, cancellationToken)).ToArray();
        await QuorumWait.WhenQuorumAsync(writes, r => r.Holds, WriteQuorum, straggler, _time, cancellationToken).ConfigureAwait(false);
        var results = writes.Where(w => w.IsCompletedSuccessfully).Select(w => w.Result).ToArray();
        var contradiction = results.Where(r => r.Contradiction is not null).Select(r => r.Contradiction!.Value).OrderByDescending(e => e.Epoch).FirstOrDefault();
        var holding = results.Count(r => r.Holds);
        if (holding >= WriteQuorum)
        {
            _highestSeen.Raise(index, proposed.Epoch);
            _evidence.HeldBy(index, proposed.Epoch);
        }

        return new PublishResult(holding, contradiction.Epoch > 0 ? contradiction : null);
    }

    /// <summary>Reads a server's record, with its version, from every replica: what a failback must see unchanged after its flush.</summary>
    public async Task<RecordSnapshot[]> SnapshotAsync(int index, TimeSpan straggler, CancellationToken cancellationToken)
    {
        var reads = _replicas.Select(r => SnapshotReplicaAsync(r, index, cancellationToken)).ToArray();
        await QuorumWait.WhenQuorumAsync(reads, r => r is not null, ReadQuorum, straggler, _time, cancellationToken).ConfigureAwait(false);
        var snapshots = reads.Where(r => r.IsCompletedSuccessfully && r.Result is not null).Select(r => r.Result!.Value).ToArray();
        if (snapshots.Where(c => c.Entry is { IsDown: true }).Select(c => c.Entry!.Value.Epoch).OrderDescending().Skip(WriteQuorum - 1).FirstOrDefault() is > 0 and var held)
        {
            _evidence.HeldBy(index, held);
        }

        return snapshots;
    }

    /// <summary>
    /// Readmits a server after its flush: writes <paramref name="up"/> over each replica's record only if it is still
    /// the one <paramref name="before"/> read before the flush (compare-and-swap). A fence that touched the record in
    /// between makes the swap fail there. A replica the flush erased lost every record it held, so there the record
    /// is added, and the other records are put back from a read the other replicas vouch for.
    /// </summary>
    /// <returns>How many replicas took the readmission.</returns>
    /// <param name="index">The server.</param>
    /// <param name="up">Its new "up" record.</param>
    /// <param name="before">Its record on each replica, read before the flush.</param>
    /// <param name="flushed">The flushed server.</param>
    /// <param name="beforeFlush">A quorum read of every record made before the flush (when the server hosts a replica), which vouches for what that replica held.</param>
    /// <param name="cancellationToken">The client's lifetime.</param>
    public async Task<int> ReadmitAsync(int index, ViewEntry up, RecordSnapshot[] before, ServerNode flushed, ViewReadResult? beforeFlush, CancellationToken cancellationToken)
    {
        var swapped = await SwapAllAsync(index, up, before, [flushed], cancellationToken).ConfigureAwait(false);
        if (swapped >= WriteQuorum)
        {
            _highestSeen.Raise(index, up.Epoch);
        }

        await RestoreFlushedReplicasAsync([flushed], beforeFlush, cancellationToken).ConfigureAwait(false);
        return swapped;
    }

    /// <summary>
    /// Takes the pool-wide lock (<see cref="PoolLock"/>) on a write quorum of replicas; null when another frontend
    /// holds it or too few replicas answered (then nothing of it is kept).
    /// </summary>
    public async Task<PoolLock?> TryTakePoolLockAsync(CancellationToken cancellationToken)
    {
        if (IsReadOnly)
        {
            return null;
        }

        return (await TakePoolLockAsync(cancellationToken).ConfigureAwait(false)).Lock;
    }

    /// <summary>The pool-wide lock, one operation of this frontend at a time; whether it is held elsewhere when not taken.</summary>
    private async Task<(PoolLock? Lock, bool HeldElsewhere)> TakePoolLockAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _poolOperation, 1, 0) != 0)
        {
            return (null, true);
        }

        bool?[] locks;
        try
        {
            locks = await Task.WhenAll(_replicas.Select(r => TryTakeLockAsync(r, RecoveryLock, cancellationToken))).ConfigureAwait(false);
        }
        catch
        {
            Volatile.Write(ref _poolOperation, 0);
            throw;
        }

        var held = _replicas.Where(r => locks[r] == true).ToArray();
        var poolLock = new PoolLock(_store, RecoveryLock, _frontendId, _lockTimeToLive, held, () => Volatile.Write(ref _poolOperation, 0));
        if (held.Length >= WriteQuorum)
        {
            return (poolLock, false);
        }

        await poolLock.DisposeAsync().ConfigureAwait(false);
        return (null, locks.Any(taken => taken == false));
    }

    /// <summary>
    /// Takes the failback lock of one outage (<paramref name="epoch"/>) of the server at <paramref name="index"/>:
    /// exactly one frontend flushes a returning server. It is taken on the replicas that server does not host (on
    /// that server itself only when it hosts every replica, a one-server pool), in replica order, and held on a
    /// majority of them, so the returning server's flush cannot wipe it. The fixed order means two frontends meet on
    /// the first replica that answers instead of splitting the set; a frontend that loses there releases what it took.
    /// </summary>
    /// <returns>True: this frontend holds it. False: another does. Null: no answer, or no majority either way.</returns>
    public async Task<bool?> TryTakeFailbackLockAsync(int index, long epoch, CancellationToken cancellationToken)
    {
        if (IsReadOnly)
        {
            return null;
        }

        var holders = FailbackLockHolders(index);
        var name = FailbackLockName(index, epoch);
        var majority = (holders.Length / 2) + 1;
        var taken = new List<int>();
        var refused = false;
        foreach (var holder in holders)
        {
            var result = await TryTakeLockAsync(holder, name, cancellationToken).ConfigureAwait(false);
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
                _failbackLocksHeld[(index, epoch)] = _time.GetTimestamp();
                return true;
            }
        }

        foreach (var holder in taken)
        {
            await ReleaseLockAsync(holder, name).ConfigureAwait(false);
        }

        return refused && taken.Count == 0 ? false : null;
    }

    /// <summary>
    /// Puts back, after a flush that may have wiped them, every failback lock this frontend took within the lock's
    /// time to live: the flushed server's own (a one-server pool, where it lives on that server; a pool flush on
    /// failback), and those of other servers' outages whose copies a flushed witness held. A holder that failed to
    /// readmit a server keeps its outage's lock to try again; its own later failback of a witness wiped a copy, another
    /// frontend took it and flushed the server a second time for one outage (simulator seed replicated 16005553).
    /// With <c>add</c>: a copy another frontend took meanwhile stays its.
    /// </summary>
    public Task RenewFailbackLocksHeldAsync(CancellationToken cancellationToken)
    {
        var renewals = new List<Task>();

        // In a fixed order: the dictionary's own order follows the process's random hash seed, and a simulation must
        // send the same requests in the same order in every process.
        foreach (var ((index, epoch), takenAt) in _failbackLocksHeld.OrderBy(held => held.Key.Index).ThenBy(held => held.Key.Epoch).ToArray())
        {
            if (_time.GetElapsedTime(takenAt) >= _lockTimeToLive)
            {
                _failbackLocksHeld.TryRemove(new KeyValuePair<(int, long), long>((index, epoch), takenAt));
                continue;
            }

            renewals.AddRange(FailbackLockHolders(index)
                .Where(r => _store.ServerHostingReplica(r) is not null)
                .Select(r => RenewLockAsync(r, FailbackLockName(index, epoch), cancellationToken)));
        }

        return Task.WhenAll(renewals);
    }

    /// <summary>
    /// Fails closed on lost records: under one lock for the whole pool (held on a majority of replicas), fences every
    /// server in <paramref name="lost"/> that anyone may still use, waits the bound, flushes those still lost, then
    /// writes a new "up" record for each (at an epoch past any this frontend has seen and past the writer's Unix time
    /// in ms, so frontends that remember older epochs take it).
    /// </summary>
    /// <returns>The servers it recovered (none when another frontend holds the lock, which it says, or no quorum answered).</returns>
    public async Task<LostRecovery> RecoverLostAsync(IReadOnlyList<int> lost, CancellationToken cancellationToken)
    {
        if (IsReadOnly)
        {
            return LostRecovery.None;
        }

        var (taken, heldElsewhere) = await TakePoolLockAsync(cancellationToken).ConfigureAwait(false);
        if (taken is null)
        {
            return heldElsewhere ? LostRecovery.HeldElsewhere : LostRecovery.None;
        }

        await using var poolLock = taken;
        {

            // Under the lock, look again: another frontend may have recovered them just before.
            var read = await ReadAsync(_lockTimeToLive / 4, cancellationToken).ConfigureAwait(false);
            var stillLost = lost.Where(i => read.IsQuorum && read.Entries[i].AwaitsRecovery).ToArray();

            // Fence before the flush. A lost record says nothing of who still uses the server: frontends that have not
            // read the loss yet keep reading and writing it, and a flush under them restarts its counters while they
            // hand out numbers. A fence on a write quorum, then a wait of the bound, means every frontend still allowed
            // to read has read the fence. (Its record is written by "lost", which the per-server failback leaves to
            // this recovery.)
            var fencedAt = _time.GetUtcNow().ToUnixTimeMilliseconds();
            var fenced = new List<int>();
            var outageEpochs = read.Entries.Select(e => e.Epoch).ToArray();
            var someoneMayUseThem = stillLost.Any(i => !read.Entries[i].IsUnknownToEveryone);
            foreach (var i in stillLost)
            {
                if (read.Entries[i].IsUnknownToEveryone)
                {
                    // Nobody was ever told it is up: nothing to fence, and a new pool's first read stays as quick as it was.
                    fenced.Add(i);
                    continue;
                }

                // The outage's epoch is its fence's: a record found lost is fenced past the wall clock (see AsFence).
                // Either way the fence is down and written by "lost" (AwaitsRecovery), dated now.
                var fence = read.Entries[i].AsFence(fencedAt) with { ChangedAtUnixMs = fencedAt };
                outageEpochs[i] = fence.Epoch;
                if ((await FenceAsync(i, fence, _lockTimeToLive / 4, cancellationToken).ConfigureAwait(false)).Holding >= WriteQuorum)
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
                await Runtime.WorkScheduler.Current.Delay(_bound, _time, cancellationToken).ConfigureAwait(false);
            }

            // The locks are checked first, then the records are read, all at once, last thing before the flush: a
            // recovery that overlaps this one (its flush wiped the lock, this one took it) may write its readmissions
            // any time until then. For a new pool nothing else stops the flush: its servers are neither fenced nor
            // waited for, and a flush after such a readmission restarts counters a frontend already counts on
            // (simulator seed gutter 6003662: the snapshots were read one by one, and the last 40 ms before the flush).
            // A connection to each server first, so that its flush goes out at once after the snapshots: a connect
            // held for up to the connect timeout between them let another frontend's fence land in between, the
            // readmission's swap failed, and another recovery flushed the server again for the same outage (simulator
            // seed gutter 39004958, see ServerNode.TryFlushAsync). A server none could be opened to is not flushed.
            var connected = (await Task.WhenAll(fenced.Select(async i => (i, Open: await _servers[i].TryOpenConnectionAsync(cancellationToken).ConfigureAwait(false)))).ConfigureAwait(false))
                .Where(c => c.Open).Select(c => c.i).ToHashSet();
            if (!await poolLock.StillHeldAsync(WriteQuorum, cancellationToken).ConfigureAwait(false))
            {
                return LostRecovery.None;
            }

            var snapshots = (await Task.WhenAll(fenced.Select(async i => (i, Copies: await SnapshotAsync(i, _lockTimeToLive / 4, cancellationToken).ConfigureAwait(false)))).ConfigureAwait(false))
                .ToDictionary(s => s.i, s => s.Copies);

            // Flush only what is still lost. This recovery's own flushes wipe the lock on replicas that live on the
            // lost servers, so another frontend's recovery can overlap this one and readmit a server meanwhile; a
            // flush after that readmission would restart its counters under frontends already using it (a CI chaos
            // run handed counter values out twice that way, with no fault on the server). A record newer than the one
            // this recovery read is that readmission, or a fence of the readmitted server's next outage (whose own failback
            // flushes it, once its fence has been held for the bound): either way, not this recovery's to flush.
            // A server whose record fewer than a read quorum of replicas answered for is not flushed either: this
            // recovery could not readmit it (its write needs what they held), and a readmission it cannot see may
            // be there. Its flush would only be repeated by the recovery that can readmit it, a second flush for
            // one outage (simulator seed offline 2000155: a blip cut the snapshots short, the flush went out after).
            stillLost = [.. fenced.Where(i => connected.Contains(i) && snapshots[i].Length >= ReadQuorum && !snapshots[i].Any(copy => copy.Entry is { } newer && newer.Epoch > outageEpochs[i]))];

            // Flush first, write after: a record written before another lost server's flush would be wiped by it.
            var flushed = new List<ServerNode>();
            foreach (var (i, ok) in await Task.WhenAll(stillLost.Select(async i => (i, await _servers[i].TryFlushAsync(read.Entries[i].IsUnknownToEveryone ? ServerFlushReason.NewPool : ServerFlushReason.LostRecord, outageEpochs[i], onOpenConnectionOnly: true, cancellationToken).ConfigureAwait(false)))).ConfigureAwait(false))
            {
                if (ok)
                {
                    flushed.Add(_servers[i]);
                }
            }

            // Put this recovery's lock back where its flushes wiped it, so no other recovery starts under it, and the
            // failback locks this frontend holds with it.
            await poolLock.RenewAfterFlushAsync(flushed.Select(n => n.Index), cancellationToken).ConfigureAwait(false);
            if (flushed.Any(HostsReplica))
            {
                await RenewFailbackLocksHeldAsync(cancellationToken).ConfigureAwait(false);
            }

            var recovered = new List<int>();
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            foreach (var node in flushed)
            {
                var i = node.Index;
                var up = _highestSeen.Recovered(i, now, _frontendId);
                if (await SwapAllAsync(i, up, snapshots[i], flushed, cancellationToken).ConfigureAwait(false) >= WriteQuorum)
                {
                    _highestSeen.Raise(i, up.Epoch);
                    node.Health.FlushedHereFor(up.Epoch);
                    recovered.Add(i);
                }
            }

            await RestoreFlushedReplicasAsync(flushed, read, cancellationToken).ConfigureAwait(false);
            return new LostRecovery(recovered, false);
        }
    }

    /// <summary>
    /// Writes the first records of a pool that has none, each saying "up", without flushing anything: an operator's
    /// statement that what the servers cache now is what the pool should serve (adopting a warm pool). Refused unless
    /// every replica answers and none holds any record (the pool is new to Ballast): once a frontend has used the
    /// pool, only its records may say what is safe. Runs even in a read-only client: it is the operator's explicit act.
    /// </summary>
    /// <returns>Whether it was done, and what was found or written, in words.</returns>
    public async Task<(bool Done, string Detail)> InitializeAsync(CancellationToken cancellationToken)
    {
        var reads = await Task.WhenAll(_replicas.Select(r => _store.ReadAllAsync(r, _servers.Count, cancellationToken))).ConfigureAwait(false);
        if (_replicas.Where(r => reads[r] is null).Select(DescribeReplica).ToArray() is { Length: > 0 } silent)
        {
            return (false, $"{string.Join(", ", silent)} did not answer; every replica of the view must answer before a pool is initialized. Nothing was written.");
        }

        var existing = _replicas.SelectMany(r => reads[r]!.Select((record, i) => (r, i, record)).Where(x => x.record is not null)).ToArray();
        if (existing.Length > 0)
        {
            var (r, i, _) = existing[0];
            return (false, $"the pool already has shared-view records ({existing.Length}, e.g. that of server {_servers[i].EndPoint} on {DescribeReplica(r)}): it is initialized or in use, and its records decide what is safe. Nothing was written.");
        }

        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var writes = new List<Task<bool?>>();
        for (var i = 0; i < _servers.Count; i++)
        {
            var value = Encode(i, new ViewEntry(Math.Min(now, ViewEntry.MaxEpoch), false, now, _frontendId));
            writes.AddRange(_replicas.Select(r => _store.CompareAndSwapAsync(r, i, value, 0, cancellationToken)));
        }

        var results = await Task.WhenAll(writes).ConfigureAwait(false);
        var written = results.Count(ok => ok == true);
        return written == results.Length
            ? (true, $"wrote {_servers.Count} records on {_replicas.Length} replica(s): every server up, nothing flushed.")
            : (false, $"wrote {written} of {results.Length} records: another frontend or operator wrote the others meanwhile; run 'ballast view show' to see them.");
    }

    /// <summary>Every replica's copy of every record, as text (for <c>ballast view show</c>); null where a replica holds none, "no answer" where it did not answer.</summary>
    public async Task<IReadOnlyList<(string Server, string Replica, string? Record)>> DescribeAsync(CancellationToken cancellationToken)
    {
        var reads = await Task.WhenAll(_replicas.Select(r => _store.ReadAllAsync(r, _servers.Count, cancellationToken))).ConfigureAwait(false);
        var rows = new List<(string, string, string?)>();
        for (var i = 0; i < _servers.Count; i++)
        {
            foreach (var r in _replicas)
            {
                var text = reads[r] is not { } records ? "no answer"
                    : records[i] is not { } record ? null
                    : TryDecode(i, record.Value.Span, out var entry) ? $"epoch {entry.Epoch} {(entry.IsDown ? "down" : "up")} by {entry.ShownWriter} at {DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(entry.ChangedAtUnixMs, 0, 253402300799999)):O}"
                    : "not a valid record";
                rows.Add((_servers[i].EndPoint.ToString(), DescribeReplica(r), text));
            }
        }

        return rows;
    }

    public ValueTask DisposeAsync() => _store.DisposeAsync();

    private string DescribeReplica(int replica)
        => _store.ServerHostingReplica(replica) is { } host ? $"witness {_servers[host].EndPoint}" : $"replica {replica}";

    /// <summary>The record as stored: the entry's text, sealed with the pool's secret (bound to the record's name) when there is one.</summary>
    private byte[] Encode(int index, ViewEntry entry) => _seal.Encode(_recordNames[index], entry);

    /// <summary>
    /// Reads a stored record strictly; anything that is not one (or whose seal fails: forged, altered, another key's or
    /// another pool's) counts as no record, a lost one, whoever wrote it.
    /// </summary>
    private bool TryDecode(int index, ReadOnlySpan<byte> bytes, out ViewEntry entry) => _seal.TryDecode(_recordNames[index], bytes, out entry);

    private static string FailbackLockName(int index, long epoch)
        => string.Create(CultureInfo.InvariantCulture, $"last_failback:{index}:{epoch}");

    private int[] FailbackLockHolders(int index)
    {
        var others = _replicas.Where(r => _store.ServerHostingReplica(r) != index).ToArray();
        return others.Length > 0 ? others : _replicas;
    }

    /// <summary>
    /// Whether an "up" record the replicas agree on counts: a read quorum holds it, or so few replicas do not hold it at
    /// its epoch that a newer record published to a write quorum would have had to reach one that does (then it would
    /// be the newest). The second matters only with two replicas (a pool of two servers), where a restarted or flushed
    /// replica otherwise made the other server's record lost, and its recovery flushed a server that had no fault.
    /// </summary>
    private bool IsVouchedFor(int holders, int holdersAtEpoch) => holders >= ReadQuorum || _store.ReplicaCount - holdersAtEpoch < WriteQuorum;

    /// <summary>How many replicas hold a valid copy of record <paramref name="index"/> at <paramref name="epoch"/> (down or up as asked).</summary>
    private static int HoldersAt(ViewEntry?[]?[] copies, int index, long epoch, bool down)
        => copies.Count(copy => copy?[index] is { } entry && entry.Epoch == epoch && entry.IsDown == down);

    private bool IsHostedByAny(int replica, IReadOnlyList<ServerNode> nodes)
        => _store.ServerHostingReplica(replica) is { } host && nodes.Any(n => n.Index == host);

    /// <summary>
    /// The newest valid copy of record <paramref name="index"/>, and how many replicas hold a valid copy. Of copies at
    /// the same epoch, one a lost-record recovery wrote (<see cref="ViewEntry.AwaitsRecovery"/>) wins, whatever
    /// replica answered first: the failback leaves a server with such a copy at its outage's epoch to the recovery, so
    /// the recovery must see it too. Picked by arrival, the recovery read another frontend's fence at that epoch and
    /// found nothing lost, while every failback saw the "lost" copy and left the server alone: nobody flushed and
    /// readmitted it (simulator seed replicated 30005059, held down for the whole 15 s settling time).
    /// </summary>
    private static (ViewEntry? Merged, int Holders) Merge(ViewEntry?[]?[] copies, int index)
    {
        ViewEntry? merged = null;
        var holders = 0;
        foreach (var copy in copies)
        {
            if (copy?[index] is { } entry)
            {
                holders++;
                if (merged is not { } best || entry.Epoch > best.Epoch || (entry.Epoch == best.Epoch && entry.AwaitsRecovery && !best.AwaitsRecovery))
                {
                    merged = entry;
                }
            }
        }

        return (merged, holders);
    }

    private async Task<(ViewEntry?[]?[] Copies, int Responded)> ReadCopiesAsync(TimeSpan straggler, CancellationToken cancellationToken)
    {
        var reads = _replicas.Select(r => ReadReplicaAsync(r, cancellationToken)).ToArray();
        await QuorumWait.WhenQuorumAsync(reads, copy => copy is not null, ReadQuorum, straggler, _time, cancellationToken).ConfigureAwait(false);
        var copies = reads.Select(r => r.IsCompletedSuccessfully ? r.Result : null).ToArray();
        return (copies, copies.Count(c => c is not null));
    }

    private async Task<ViewEntry?[]?> ReadReplicaAsync(int replica, CancellationToken cancellationToken)
    {
        var records = await _store.ReadAllAsync(replica, _servers.Count, cancellationToken).ConfigureAwait(false);
        if (records is null)
        {
            return null;
        }

        var entries = new ViewEntry?[_servers.Count];
        for (var i = 0; i < entries.Length && i < records.Length; i++)
        {
            if (records[i] is { } record && TryDecode(i, record.Value.Span, out var entry))
            {
                entries[i] = entry;
            }
        }

        return entries;
    }

    private async Task<RecordSnapshot?> SnapshotReplicaAsync(int replica, int index, CancellationToken cancellationToken)
    {
        var answer = await _store.ReadAsync(replica, index, cancellationToken).ConfigureAwait(false);
        if (!answer.Answered)
        {
            return null;
        }

        ViewEntry? entry = answer.Record is { } record && TryDecode(index, record.Value.Span, out var decoded) ? decoded : null;
        return new RecordSnapshot(replica, entry, answer.Record?.Version ?? 0);
    }

    /// <summary>
    /// After a flush of servers that host replicas, puts back every record those replicas lost, from the other
    /// replicas: records that a quorum of unflushed replicas vouches for, "down" ones, and records the read made before
    /// the flush (<paramref name="beforeFlush"/>) vouched for and that the unflushed replicas still hold unchanged; and
    /// only where none is (version 0), so a fence that reached a flushed replica since wins. A record that cannot be
    /// vouched for is left out: reads then find it lost. The read before the flush is what lets a pool of two servers
    /// settle: with one replica flushed, the other alone can vouch for nothing, and without it every flush lost the
    /// other server's record, whose recovery flushed that server, which lost the first server's record again.
    /// </summary>
    private async Task RestoreFlushedReplicasAsync(IReadOnlyList<ServerNode> flushed, ViewReadResult? beforeFlush, CancellationToken cancellationToken)
    {
        var flushedReplicas = _replicas.Where(r => IsHostedByAny(r, flushed)).ToArray();
        if (flushedReplicas.Length == 0)
        {
            return;
        }

        var (copies, _) = await ReadCopiesAsync(_lockTimeToLive / 4, cancellationToken).ConfigureAwait(false);
        foreach (var r in flushedReplicas)
        {
            copies[r] = null;
        }

        for (var i = 0; i < _servers.Count; i++)
        {
            var (merged, holders) = Merge(copies, i);
            var vouchedBeforeFlush = beforeFlush is { IsQuorum: true } earlier && merged is { } candidate
                && !earlier.Entries[i].IsLost && earlier.Entries[i].Epoch == candidate.Epoch;
            if (merged is not { } record || (!record.IsDown && holders < ReadQuorum && !vouchedBeforeFlush))
            {
                continue;
            }

            foreach (var r in flushedReplicas)
            {
                // Read repair puts it back later if this fails.
                await _store.CompareAndSwapAsync(r, i, Encode(i, record), 0, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Writes <paramref name="up"/> on every replica in <paramref name="before"/> where its record is unchanged; adds it on replicas the flush erased.</summary>
    private async Task<int> SwapAllAsync(int index, ViewEntry up, RecordSnapshot[] before, IReadOnlyList<ServerNode> flushed, CancellationToken cancellationToken)
    {
        var value = Encode(index, up);
        var results = await Task.WhenAll(before.Select(SwapOneAsync)).ConfigureAwait(false);
        return results.Count(ok => ok);

        async Task<bool> SwapOneAsync(RecordSnapshot snapshot)
        {
            var swapped = await _store.CompareAndSwapAsync(snapshot.Replica, index, value, IsHostedByAny(snapshot.Replica, flushed) ? 0 : snapshot.Version, cancellationToken).ConfigureAwait(false);
            if (swapped != false)
            {
                return swapped == true;
            }

            // The record changed since the snapshot. A fence after the flush changes what it says (its time and
            // writer at least), and then the swap must fail. But another frontend's read repair, or its putting back
            // of a replica its own flush erased, writes a record exactly as it was before this flush: that is no news
            // of an outage, and failing on it left the server unreadmitted, to be flushed a second time by the next
            // recovery (simulator seed offline 2003807, two recoveries overlapping in a pool of three).
            var now = await _store.ReadAsync(snapshot.Replica, index, cancellationToken).ConfigureAwait(false);
            return now.Record is { } record && TryDecode(index, record.Value.Span, out var current)
                && before.Any(earlier => earlier.Entry == current)
                && await _store.CompareAndSwapAsync(snapshot.Replica, index, value, record.Version, cancellationToken).ConfigureAwait(false) == true;
        }
    }

    /// <summary>
    /// Compare-and-swap loop for read repair: the record on a replica only ever moves to a higher epoch, however
    /// publishes from different frontends interleave. An invalid record is replaced. Best effort: the next read tries again.
    /// </summary>
    private async Task RepairReplicaAsync(int replica, int index, ViewEntry entry, CancellationToken cancellationToken)
    {
        var value = Encode(index, entry);
        try
        {
            for (var attempt = 0; attempt < 5; attempt++)
            {
                var current = await _store.ReadAsync(replica, index, cancellationToken).ConfigureAwait(false);
                if (!current.Answered
                    || (current.Record is { } record && TryDecode(index, record.Value.Span, out var existing) && existing.Epoch >= entry.Epoch))
                {
                    return;
                }

                if (await _store.CompareAndSwapAsync(replica, index, value, current.Record?.Version ?? 0, cancellationToken).ConfigureAwait(false) != false)
                {
                    return;
                }
            }
        }
        catch (Exception error) when (error is not OutOfMemoryException)
        {
            // Nobody awaits a repair, and a store is not meant to throw; the next read repairs again.
        }
    }

    /// <summary>
    /// Fence on one replica, compare-and-swap so that concurrent writers never lose each other's updates: a "down"
    /// record is touched (rewritten at its own epoch, which changes its version), an older "up" record (or an invalid
    /// one) is replaced by the proposed fence, and a newer "up" record overrules it.
    /// </summary>
    private async Task<(bool Holds, ViewEntry? Contradiction)> FenceReplicaAsync(int replica, int index, ViewEntry proposed, CancellationToken cancellationToken)
    {
        var current = await _store.ReadAsync(replica, index, cancellationToken).ConfigureAwait(false);
        if (!current.Answered)
        {
            return (false, null);
        }

        var target = proposed with { IsLost = false };
        if (current.Record is { } record && TryDecode(index, record.Value.Span, out var existing))
        {
            if (!existing.IsDown && existing.Epoch >= proposed.Epoch)
            {
                return (false, existing);
            }

            if (existing.IsDown && existing.Epoch >= proposed.Epoch)
            {
                if (existing.Writer == ViewEntry.LostWriter && proposed.Writer == ViewEntry.LostWriter)
                {
                    // A lost-record recovery's fence over another recovery's: it fences already, and only recoveries
                    // readmit such a record, each after its own fence held for the bound and its own flush. A touch
                    // here would only fail the readmission of the recovery that flushed first, and this one would
                    // flush the server a second time for the outage (simulator seed offline 9008604: the first
                    // recovery's flush wiped its lock, the second took it and touched the fence, 1 ms after that flush).
                    return (true, null);
                }

                // A touch: new content, so that a failback's snapshot from before it no longer matches (a swap that
                // finds the very record it snapshotted, rewritten by a repair, still proceeds: see SwapAllAsync). A
                // fence of a lost record stays the lost-record recovery's: taken over by a late fence's writer, it
                // was left to a failback that never came, and the pool never settled (simulator seed gutter 2000532).
                var changedAt = proposed.ChangedAtUnixMs == existing.ChangedAtUnixMs ? proposed.ChangedAtUnixMs + 1 : proposed.ChangedAtUnixMs;
                target = existing with { ChangedAtUnixMs = changedAt, Writer = existing.Writer == ViewEntry.LostWriter ? ViewEntry.LostWriter : proposed.Writer };
            }
        }

        var swapped = await _store.CompareAndSwapAsync(replica, index, Encode(index, target), current.Record?.Version ?? 0, cancellationToken).ConfigureAwait(false);
        if (swapped != false)
        {
            return (swapped == true, null);
        }

        // Someone changed the record since it was read, so after this fence began: if it now says "down", that change
        // fences as well as this one would (a failback's snapshot from before it no longer matches).
        var now = await _store.ReadAsync(replica, index, cancellationToken).ConfigureAwait(false);
        if (now.Record is { } after && TryDecode(index, after.Value.Span, out var changed))
        {
            return changed.IsDown ? (true, null) : (false, changed.Epoch >= proposed.Epoch ? changed : null);
        }

        return (false, null);
    }

    private async Task<bool?> TryTakeLockAsync(int replica, string name, CancellationToken cancellationToken)
        => await _store.TryTakeLockAsync(replica, name, _frontendId, _lockTimeToLive, cancellationToken).ConfigureAwait(false);

    private Task RenewLockAsync(int replica, string name, CancellationToken cancellationToken)
        => _store.RenewLockAsync(replica, name, _frontendId, _lockTimeToLive, cancellationToken);

    private Task ReleaseLockAsync(int replica, string name)
        => _store.ReleaseLockAsync(replica, name, _frontendId, CancellationToken.None);
}
