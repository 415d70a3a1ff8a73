namespace Ballast.SharedView;

/// <summary>
/// Where the shared view's records live, and the operations the pool performs on them. Two stores:
/// <see cref="MemcachedViewStore"/> (the default: records on a few witness servers of the pool, quorum reads and
/// writes) and the etcd store in <c>Ballast.SharedView.Etcd</c> (records as keys of a coordination service that does
/// not forget them). Whatever the store, a read that cannot prove a server's record (no record, an invalid one, or
/// one older than this frontend has seen) reports the server lost: down until <see cref="RecoverLostAsync"/> has
/// flushed it. Nothing on the hot path waits for a store: reads consult <see cref="ClusterView"/>, which the
/// background loop refreshes from here.
/// </summary>
internal interface IViewStore : IAsyncDisposable
{
    /// <summary>How many copies a read must hear from for it to renew the view's lease.</summary>
    int ReadQuorum { get; }

    /// <summary>How many copies must hold a publish for it to count.</summary>
    int WriteQuorum { get; }

    /// <summary>
    /// Raised (on a background thread) when the store learns of a change before the next refresh would: etcd's watch
    /// pushes every fence the moment etcd commits it. The memcached store never raises it (it is polled).
    /// </summary>
    event Action? Changed;

    /// <summary>Reads every record (merged), marking lost ones (<see cref="ViewEntry.IsLost"/>).</summary>
    Task<ViewReadResult> ReadAsync(TimeSpan straggler, TimeProvider time, CancellationToken cancellationToken);

    /// <summary>
    /// Publishes a fence for the server at <paramref name="index"/>, touching a record that already says "down" so a
    /// failback that read it before cannot readmit over it. Returns the copies that hold it, and the newer "up"
    /// record that overrules it, if any.
    /// </summary>
    Task<PublishResult> FenceAsync(int index, ViewEntry proposed, TimeSpan straggler, TimeProvider time, CancellationToken cancellationToken);

    /// <summary>Reads a server's record with its version on every copy: what a failback must find unchanged after its flush.</summary>
    Task<RecordSnapshot[]> SnapshotAsync(int index, TimeSpan straggler, TimeProvider time, CancellationToken cancellationToken);

    /// <summary>
    /// Readmits a server after its flush: writes <paramref name="up"/> over each copy only where it is still the one in
    /// <paramref name="before"/>. Returns the copies that took it.
    /// </summary>
    Task<int> ReadmitAsync(int index, ViewEntry up, RecordSnapshot[] before, Pool.ServerNode flushed, CancellationToken cancellationToken);

    /// <summary>
    /// Takes the failback lock of one outage (<paramref name="epoch"/>) of the server at <paramref name="index"/>: exactly
    /// one frontend flushes a returning server. It lives where that server's flush cannot wipe it (the seed kept it on
    /// the returning server itself, where the flush erased it and a second frontend could take it before it was put
    /// back, and flush again). True: this frontend holds it. False: another does. Null: no answer, or no majority
    /// either way; try again after the next probe.
    /// </summary>
    Task<bool?> TryTakeFailbackLockAsync(int index, long epoch, CancellationToken cancellationToken);

    /// <summary>
    /// Puts the failback lock back after flushes that may have wiped it (a one-server pool, where it lives on the
    /// flushed server; a pool flush on failback), so a frontend that probes late does not flush again.
    /// </summary>
    Task RenewFailbackLockAsync(int index, long epoch, CancellationToken cancellationToken);

    /// <summary>
    /// Fails closed on lost records: under one lock for the whole pool, flushes every server in
    /// <paramref name="lost"/> that answers, then writes a new "up" record for each (at an epoch past any this
    /// frontend has seen and past the writer's Unix time in ms, so frontends that remember older epochs take it).
    /// Returns the indexes it recovered (none when another frontend holds the lock, which it says, or no quorum answered).
    /// </summary>
    Task<LostRecovery> RecoverLostAsync(IReadOnlyList<int> lost, CancellationToken cancellationToken);
}
