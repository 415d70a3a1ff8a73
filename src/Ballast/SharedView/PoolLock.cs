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
    private readonly Action _released;

    public PoolLock(ISharedViewStore store, string name, string owner, TimeSpan timeToLive, int[] held, Action released)
    {
        _released = released;
        _store = store;
        _name = name;
        _owner = owner;
        _timeToLive = timeToLive;
        _held = held;
    }

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
    public async Task<bool> StillHeldAsync(int writeQuorum, CancellationToken cancellationToken)
    {
        var answers = await Task.WhenAll(_held.Select(r => _store.TryTakeLockAsync(r, _name, _owner, _timeToLive, cancellationToken))).ConfigureAwait(false);
        return answers.Count(held => held == true) >= writeQuorum;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            foreach (var replica in _held)
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
