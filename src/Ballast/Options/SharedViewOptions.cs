namespace Ballast;

/// <summary>
/// The view of server health that every frontend of a pool shares through the memcached servers themselves: a
/// small record per server, written to the pool's servers and read from a majority of them.
/// </summary>
public sealed class SharedViewOptions
{
    /// <summary>
    /// Whether the pool keeps a shared view. Default true. Without it, each frontend acts on its own failure detection
    /// only, and frontends disagree: one marks a server down while another keeps reading it.
    /// Always off under <see cref="FailoverPolicy.Rehash"/>.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The bound B: once any frontend marks a server down, every frontend stops reading it within this time. A
    /// frontend that has not read the view from a majority of servers within B serves misses until it has. Default
    /// 1 s; 100 ms to 1 min.
    /// </summary>
    public TimeSpan Bound { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The name that frontends of one pool share; the view's keys are built from it. Default: derived from the
    /// server list, so frontends configured with the same servers agree without configuration.
    /// </summary>
    public string? PoolName { get; set; }

    /// <summary>
    /// Where the records live: <see cref="SharedViewStoreKind.Memcached"/> (default; on 3 or 5 witness servers of the
    /// pool) or <see cref="SharedViewStoreKind.Etcd"/> (needs <see cref="EtcdEndpoints"/> and the
    /// <c>Ballast.SharedView.Etcd</c> package). See docs/integrity.md for what each survives.
    /// </summary>
    public SharedViewStoreKind Store { get; set; } = SharedViewStoreKind.Memcached;

    /// <summary>The etcd endpoints (<c>http://host:port</c>) when <see cref="Store"/> is etcd. Default none.</summary>
    public IList<string> EtcdEndpoints { get; private set; } = new List<string>();

    /// <summary>
    /// The user and password for an etcd cluster with authentication enabled. Default none (etcd without
    /// authentication). Without them, anyone who can reach etcd can fence or unfence servers.
    /// </summary>
    public EtcdCredentials? EtcdCredentials { get; set; }

    /// <summary>How often the view is read: <see cref="Bound"/> divided by 4.</summary>
    public TimeSpan RefreshInterval => Bound / 4;

    internal void Validate()
    {
        OptionChecks.Range(Bound, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(1), nameof(Bound));
        if (Store == SharedViewStoreKind.Etcd && (EtcdEndpoints.Count == 0 || EtcdEndpoints.Any(e => !Uri.TryCreate(e, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))))
        {
            throw new ArgumentException($"The option EtcdEndpoints must list at least one http:// or https:// endpoint when Store is Etcd (got '{string.Join(",", EtcdEndpoints)}').", nameof(EtcdEndpoints));
        }

        if (!Enum.IsDefined(Store))
        {
            throw new ArgumentOutOfRangeException(nameof(Store), Store, "The option Store must be Memcached or Etcd.");
        }

        if (PoolName is { } name && (name.Length is 0 or > 64 || name.Any(c => c <= ' ' || c > '~')))
        {
            throw new ArgumentException($"The option PoolName '{name}' must be 1 to 64 printable ASCII characters with no spaces.", nameof(PoolName));
        }
    }

    /// <summary>A copy for a client's snapshot of its options.</summary>
    internal SharedViewOptions Copy()
    {
        var copy = (SharedViewOptions)MemberwiseClone();
        copy.EtcdEndpoints = [.. EtcdEndpoints];
        return copy;
    }
}
