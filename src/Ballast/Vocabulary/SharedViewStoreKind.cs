namespace Ballast;

/// <summary>Where the shared view's records live (<see cref="SharedViewOptions.Store"/>).</summary>
public enum SharedViewStoreKind
{
    /// <summary>On a few witness servers of the pool itself: no extra infrastructure. The default.</summary>
    Memcached,

    /// <summary>
    /// In etcd (<see cref="SharedViewOptions.EtcdEndpoints"/>), through the <c>Ballast.SharedView.Etcd</c> package:
    /// records that survive flushes and restarts of memcached, fences pushed to every frontend by a watch.
    /// </summary>
    Etcd,
}
