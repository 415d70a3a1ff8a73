namespace Ballast.Tests.SharedView;

/// <summary>
/// A shared-view store that passes every call to another: tests derive from it to change one kind of answer (drop a
/// replica's reads, disguise a record) while the rest of the store stays the real one.
/// </summary>
internal abstract class ForwardingViewStore(ISharedViewStore inner) : ISharedViewStore
{
    protected ISharedViewStore Inner => inner;

    public int ReplicaCount => inner.ReplicaCount;

    public event Action? Changed
    {
        add => inner.Changed += value;
        remove => inner.Changed -= value;
    }

    public virtual Task<SharedViewRecord?[]?> ReadAllAsync(int replica, int recordCount, CancellationToken cancellationToken) => inner.ReadAllAsync(replica, recordCount, cancellationToken);

    public virtual Task<SharedViewReplicaAnswer> ReadAsync(int replica, int index, CancellationToken cancellationToken) => inner.ReadAsync(replica, index, cancellationToken);

    public virtual Task<bool?> CompareAndSwapAsync(int replica, int index, ReadOnlyMemory<byte> value, long expectedVersion, CancellationToken cancellationToken) => inner.CompareAndSwapAsync(replica, index, value, expectedVersion, cancellationToken);

    public virtual Task<bool?> TryTakeLockAsync(int replica, string name, string owner, TimeSpan timeToLive, CancellationToken cancellationToken) => inner.TryTakeLockAsync(replica, name, owner, timeToLive, cancellationToken);

    public virtual Task RenewLockAsync(int replica, string name, string owner, TimeSpan timeToLive, CancellationToken cancellationToken) => inner.RenewLockAsync(replica, name, owner, timeToLive, cancellationToken);

    public virtual Task ReleaseLockAsync(int replica, string name, string owner, CancellationToken cancellationToken) => inner.ReleaseLockAsync(replica, name, owner, cancellationToken);

    public int? ServerHostingReplica(int replica) => inner.ServerHostingReplica(replica);

    public virtual ValueTask DisposeAsync() => inner.DisposeAsync();
}
