namespace Ballast.SharedView;

/// <summary>
/// The pool-wide lock of the shared view (held on a write quorum of replicas): at most one operation at a time that
/// erases a replica's records, a lost-record recovery or the flush of a server that hosts a replica, so that a
/// majority of the view's records is never lost at once. Released on disposal.
/// </summary>
internal sealed class PoolLock : IAsyncDisposable
{
    private readonly ISharedViewStore _store;
    private readonly string _name;
    private readonly string _owner;
    private readonly TimeSpan _timeToLive;
    private readonly int[] _held;
    private readonly HashSet<int> _holding;
    private readonly Action _released;

    public PoolLock(ISharedViewStore store, string name, string owner, TimeSpan timeToLive, int[] held, Action released)
    {
        _released = released;
        _store = store;
        _name = name;
        _owner = owner;
        _timeToLive = timeToLive;
        _held = held;
        _holding = [.. held];
    }

    /// <summary>
    /// Flushes <paramref name="servers"/> while keeping this lock: those that host none of its replicas all at once;
    /// the others one at a time, each flush followed by taking back the copy it erased, and only while the copies held
    /// on the other replicas leave too few free for another owner's write quorum. A flush erases the lock's copy on its
    /// server: a new pool's recovery flushed every server at once, another frontend took a quorum of the freed copies,
    /// read the records not yet written, and flushed every server again, under a frontend already counting there
    /// (a chaos run's new pool flushed twice at 0.18 s; simulator seed offline 11011316). Servers after the one it
    /// stopped at are left to a later recovery.
    /// </summary>
    /// <param name="servers">The servers to flush, in order.</param>
    /// <param name="writeQuorum">How many copies a holder needs.</param>
    /// <param name="flush">Flushes one server; false when it did not.</param>
    /// <param name="cancellationToken">Ends the work.</param>
    /// <returns>The servers flushed, in the order of <paramref name="servers"/>.</returns>
    public async Task<List<int>> FlushKeepingQuorumAsync(IReadOnlyList<int> servers, int writeQuorum, Func<int, Task<bool>> flush, CancellationToken cancellationToken)
    {
        var flushed = new HashSet<int>();
        var hosting = servers.Where(s => ReplicasOn(s).Any()).ToList();
        foreach (var (server, ok) in await Task.WhenAll(servers.Except(hosting).Select(async s => (s, await flush(s).ConfigureAwait(false)))).ConfigureAwait(false))
        {
            if (ok)
            {
                flushed.Add(server);
            }
        }

        // Fewer than this many copies kept through a flush leave a write quorum free for someone else.
        var mustKeep = _store.ReplicaCount - writeQuorum + 1;
        foreach (var server in hosting)
        {
            // A server that hosts so many replicas that no holder could keep enough through its flush (a one-server
            // pool) is flushed anyway, its copies taken back at once, as before.
            var erased = ReplicasOn(server).ToList();
            if (_holding.Count(r => !erased.Contains(r)) < mustKeep && _store.ReplicaCount - erased.Count >= mustKeep)
            {
                break;
            }

            if (!await flush(server).ConfigureAwait(false))
            {
                // It may still land, and erase the copies: they are not counted on, and nothing else is flushed.
                _holding.ExceptWith(erased);
                break;
            }

            flushed.Add(server);
            foreach (var replica in erased)
            {
                _holding.Remove(replica);
                if (await _store.TryTakeLockAsync(replica, _name, _owner, _timeToLive, cancellationToken).ConfigureAwait(false) == true)
                {
                    _holding.Add(replica);
                }
            }
        }

        return [.. servers.Where(flushed.Contains)];
    }

    private IEnumerable<int> ReplicasOn(int server)
        => Enumerable.Range(0, _store.ReplicaCount).Where(r => _store.ServerHostingReplica(r) == server);

    /// <summary>Puts the lock back on the replicas that <paramref name="flushedServers"/> host (their flush erased it), so no other holder starts under it.</summary>
    public Task RenewAfterFlushAsync(IEnumerable<int> flushedServers, CancellationToken cancellationToken)
    {
        var flushed = flushedServers.ToHashSet();
        return Task.WhenAll(_held
            .Where(r => _store.ServerHostingReplica(r) is { } host && flushed.Contains(host))
            .Select(r => _store.RenewLockAsync(r, _name, _owner, _timeToLive, cancellationToken)));
    }

    /// <summary>
    /// Whether this owner still holds the lock on a write quorum of replicas, checked just before an act the lock
    /// guards (a flush). A copy can vanish under its holder: its witness restarted, or another operation's flush wiped
    /// it; another frontend may then have taken that copy and, with another freed one, a quorum (the simulator found
    /// two recoveries so, each flushing the same servers: seed offline 3002905). A copy that vanished and that nobody
    /// took is taken again.
    /// </summary>
    /// <param name="writeQuorum">How many copies a holder needs.</param>
    /// <param name="cancellationToken">Ends the work.</param>
    /// <param name="takeMissing">
    /// Also tries the copies not taken when the lock was (a replica that did not answer then): a holder of exactly a
    /// quorum cannot flush a server hosting one of its copies without freeing a quorum for someone else (see
    /// <see cref="FlushKeepingQuorumAsync"/>). Only where a wait for a silent replica does no harm, before the records
    /// are read for the flush.
    /// </param>
    public async Task<bool> StillHeldAsync(int writeQuorum, CancellationToken cancellationToken, bool takeMissing = false)
    {
        var replicas = takeMissing ? Enumerable.Range(0, _store.ReplicaCount).ToArray() : _held;
        var answers = await Task.WhenAll(replicas.Select(r => _store.TryTakeLockAsync(r, _name, _owner, _timeToLive, cancellationToken))).ConfigureAwait(false);
        _holding.Clear();
        _holding.UnionWith(replicas.Where((_, i) => answers[i] == true));
        return _holding.Count >= writeQuorum;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            foreach (var replica in _held.Union(_holding))
            {
                await _store.ReleaseLockAsync(replica, _name, _owner, CancellationToken.None).ConfigureAwait(false);
            }
        }
        finally
        {
            _released();
        }
    }
}
