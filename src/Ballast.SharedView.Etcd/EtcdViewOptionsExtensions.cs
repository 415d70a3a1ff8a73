using Ballast.SharedView.Etcd;

namespace Ballast;

/// <summary>Keeps a pool's shared view in etcd: <c>options.SharedView.UseEtcdView("http://10.0.0.9:2379")</c>.</summary>
public static class EtcdViewOptionsExtensions
{
    /// <summary>
    /// Keeps the shared view in etcd at <paramref name="endpoints"/> (<c>http://</c> or <c>https://</c>, tried in
    /// turn): records that survive flushes and restarts of memcached, fences pushed to every frontend by a watch.
    /// Sets <see cref="SharedViewOptions.Store"/> to Etcd and <see cref="SharedViewOptions.EtcdEndpoints"/>.
    /// </summary>
    /// <param name="options">The client's shared-view options.</param>
    /// <param name="endpoints">etcd's client endpoints; at least one.</param>
    /// <param name="credentials">User and password when etcd has authentication enabled; null for none.</param>
    /// <returns><paramref name="options"/>.</returns>
    public static SharedViewOptions UseEtcdView(this SharedViewOptions options, IEnumerable<string> endpoints, EtcdCredentials? credentials = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(endpoints);
        options.EtcdEndpoints.Clear();
        foreach (var endpoint in endpoints)
        {
            options.EtcdEndpoints.Add(endpoint);
        }

        options.EtcdCredentials = credentials ?? options.EtcdCredentials;
        return options.UseEtcdView();
    }

    /// <summary>
    /// Keeps the shared view in etcd at the <see cref="SharedViewOptions.EtcdEndpoints"/> and with the
    /// <see cref="SharedViewOptions.EtcdCredentials"/> already set (bound from configuration, say: call this after
    /// binding). Sets <see cref="SharedViewOptions.Store"/> to Etcd.
    /// </summary>
    /// <param name="options">The client's shared-view options.</param>
    /// <returns><paramref name="options"/>.</returns>
    public static SharedViewOptions UseEtcdView(this SharedViewOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Store = SharedViewStoreKind.Etcd;
        return options.UseStore(context => new EtcdViewStore(context, [.. options.EtcdEndpoints], options.EtcdCredentials));
    }
}
