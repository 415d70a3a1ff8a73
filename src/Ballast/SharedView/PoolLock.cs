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
