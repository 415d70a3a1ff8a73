namespace Ballast;

/// <summary>
/// Where a pool's shared view is kept: one small record per server of the pool (opaque bytes with a version), held in
/// <see cref="ReplicaCount"/> copies, and leased locks beside them. A store is only storage: which records count,
/// fencing, readmission, recovery of lost records and quorums are Ballast's (written once, over this interface), so
/// a new store is an adapter of a few methods, registered with <see cref="SharedViewOptions.UseStore"/>.
/// </summary>
/// <remarks>
/// <para>Records and locks are addressed by replica (0 to <see cref="ReplicaCount"/> - 1) and records by server index
/// (main servers then gutter servers, in configuration order). Every method is called concurrently from background
/// work; none may block. A replica that does not answer is reported as such (null), never as an empty one: an empty
/// answer means the records are gone, which Ballast treats as lost (the servers are flushed before they are read).</para>
/// <para>A store with one replica must itself be linearizable (etcd is): Ballast then counts its one answer as a
/// quorum. With several replicas, Ballast reads and writes majorities of them.</para>
/// </remarks>
public interface ISharedViewStore : IAsyncDisposable
{
    /// <summary>How many copies of every record the store keeps (and how many places locks may be taken in).</summary>
    int ReplicaCount { get; }

    /// <summary>
    /// Raised, on any thread, when the store learns of a change before the next periodic read would (a watch): the
    /// frontend then reads the view at once. Stores that are only polled never raise it.
    /// </summary>
    event Action? Changed;

    /// <summary>Reads every record of one replica: an array with an element per server (null where it holds none), or null when the replica did not answer.</summary>
    /// <param name="replica">The replica.</param>
    /// <param name="recordCount">How many records to read (servers 0 to <paramref name="recordCount"/> - 1).</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    Task<SharedViewRecord?[]?> ReadAllAsync(int replica, int recordCount, CancellationToken cancellationToken);

    /// <summary>Reads one record of one replica, with its version.</summary>
    /// <param name="replica">The replica.</param>
    /// <param name="index">The server whose record it is.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The replica's answer: <see cref="SharedViewReplicaAnswer.NoAnswer"/>, or the record (null when it holds none).</returns>
    Task<SharedViewReplicaAnswer> ReadAsync(int replica, int index, CancellationToken cancellationToken);

    /// <summary>
    /// Writes one record of one replica only if its version is still <paramref name="expectedVersion"/> (0: only if
    /// the replica holds no such record).
    /// </summary>
    /// <returns>True when written; false when the version did not match; null when the replica did not answer.</returns>
    Task<bool?> CompareAndSwapAsync(int replica, int index, ReadOnlyMemory<byte> value, long expectedVersion, CancellationToken cancellationToken);

    /// <summary>
    /// Takes the lock <paramref name="name"/> on one replica for <paramref name="owner"/>, for at most
    /// <paramref name="timeToLive"/> (a lock must end by itself when its holder dies).
    /// </summary>
    /// <returns>True when <paramref name="owner"/> holds it (now, or already); false when another owner does; null when the replica did not answer.</returns>
    Task<bool?> TryTakeLockAsync(int replica, string name, string owner, TimeSpan timeToLive, CancellationToken cancellationToken);

    /// <summary>
    /// Writes <paramref name="owner"/>'s lock back on one replica (after a flush of the server hosting it emptied it),
    /// only where no lock is: another owner that took the emptied replica meanwhile keeps it. Best effort.
    /// </summary>
    Task RenewLockAsync(int replica, string name, string owner, TimeSpan timeToLive, CancellationToken cancellationToken);

    /// <summary>Releases the lock on one replica if <paramref name="owner"/> holds it. Best effort: its time to live ends it anyway.</summary>
    Task ReleaseLockAsync(int replica, string name, string owner, CancellationToken cancellationToken);

    /// <summary>
    /// The index of the pool's server that hosts <paramref name="replica"/> (whose <c>flush_all</c> erases that
    /// replica's records and locks), or null when the replica lives outside the pool. Default null.
    /// </summary>
    int? ServerHostingReplica(int replica) => null;
}
