namespace Ballast;

/// <summary>
/// The view of server health that every frontend of a pool shares through the memcached servers themselves: a
/// small record per server, written to the pool's servers and read from a majority of them.
/// </summary>
public sealed class SharedViewOptions
{
    /// <summary>The shortest secret accepted, in bytes of UTF-8: 128 bits.</summary>
    internal const int MinimumSecretLength = 16;

    /// <summary>
    /// Whether the pool keeps a shared view. Default true. Without it, each frontend acts on its own failure detection
    /// only, and frontends disagree: one marks a server down while another keeps reading it.
    /// Always off under <see cref="FailoverPolicy.Rehash"/>.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The bound B: once any frontend marks a server down, every frontend stops reading it within this time. A
    /// frontend that has not read the view from a majority of servers within three quarters of B serves misses until it
    /// has (the last quarter is the time an invalidation whose caller left has to land before it fences its server); an
    /// operation that finds its lease lapsed while the view is within reach first waits, at most an operation timeout,
    /// for the view read that renews it.
    /// Default 1 s; 100 ms to 1 min.
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

    /// <summary>
    /// For tools that run once (the <c>ballast</c> command line's get, set, delete, stats, locate): the client reads
    /// the view and honours every fence, but never writes a record (no fence, no repair, no recovery) and never
    /// flushes a server, so looking at a pool changes nothing in it. A server whose record is lost or fenced is simply
    /// unreadable to it, and a delete that cannot be confirmed fails instead of fencing; a pool that has no view at all
    /// yet (no frontend ever started on it) is read as it is. Default false.
    /// </summary>
    public bool ReadOnly { get; set; }

    /// <summary>
    /// The pool's secret: with it, every view record and lock carries an HMAC-SHA256 keyed by it (over the pool's name,
    /// the record's key and its content), and a record or lock that fails the check is treated as lost, so its server is
    /// fenced and flushed before anyone reads it again (fail closed). At least 16 bytes of UTF-8; give every frontend of
    /// the pool the same one (the PHP bridge's <c>secret</c> option, the CLI's <c>--view-secret-file</c>). Default null:
    /// records carry no MAC, and anyone who can write to the servers can forge one that lifts a fence (docs/security.md).
    /// Never shown in a message or a log.
    /// </summary>
    public string? Secret { get; set; }

    /// <summary>A file whose first line is <see cref="Secret"/>, read when the client starts (not with <see cref="Secret"/>). Default null.</summary>
    public string? SecretFile { get; set; }

    /// <summary>How often the view is read: <see cref="Bound"/> divided by 4.</summary>
    public TimeSpan RefreshInterval => Bound / 4;

    /// <summary>The store registered with <see cref="UseStore"/>, if any; null keeps the records on witness servers of the pool.</summary>
    internal Func<SharedViewStoreContext, ISharedViewStore>? StoreFactory { get; private set; }

    /// <summary>
    /// Keeps the view's records in another store than the pool's own servers: one built by <paramref name="factory"/>
    /// for each client (the etcd package's <c>UseEtcdView</c> calls this). The store is only storage: quorums,
    /// fencing, readmission and the recovery of lost records stay Ballast's (see <see cref="ISharedViewStore"/>).
    /// </summary>
    /// <param name="factory">Builds the store of one client; called once, when the client is created.</param>
    /// <returns>These options.</returns>
    public SharedViewOptions UseStore(Func<SharedViewStoreContext, ISharedViewStore> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        StoreFactory = factory;
        return this;
    }

    /// <summary>The secret's bytes, resolved (from <see cref="Secret"/> or <see cref="SecretFile"/>) by <see cref="Validate"/>; null for none.</summary>
    internal byte[]? SecretBytes { get; private set; }

    internal void Validate()
    {
        OptionChecks.Range(Bound, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(1), nameof(Bound));
        if (Store == SharedViewStoreKind.Etcd && StoreFactory is null)
        {
            throw new ArgumentException("The option Store is Etcd, but no etcd store is registered: install the package Ballast.SharedView.Etcd and call options.SharedView.UseEtcdView() (it takes EtcdEndpoints and EtcdCredentials as bound from configuration, or endpoints of its own).", nameof(Store));
        }

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

        SecretBytes = ResolveSecret();
    }

    private byte[]? ResolveSecret()
    {
        if (Secret is not null && SecretFile is not null)
        {
            throw new ArgumentException("Set either the option Secret or the option SecretFile, not both.", nameof(SecretFile));
        }

        string? secret = Secret;
        if (SecretFile is { } file)
        {
            try
            {
                using var reader = new StreamReader(file);
                secret = reader.ReadLine() ?? string.Empty;
            }
            catch (Exception error) when (error is IOException or UnauthorizedAccessException)
            {
                throw new ArgumentException($"The option SecretFile: cannot read '{file}' ({error.Message}).", nameof(SecretFile), error);
            }
        }

        if (secret is null)
        {
            return null;
        }

        var bytes = System.Text.Encoding.UTF8.GetBytes(secret);
        if (bytes.Length < MinimumSecretLength)
        {
            throw new ArgumentException(
                $"The option {(SecretFile is null ? nameof(Secret) : $"SecretFile ('{SecretFile}')")} must give a secret of at least {MinimumSecretLength} bytes; it has {bytes.Length}.",
                SecretFile is null ? nameof(Secret) : nameof(SecretFile));
        }

        return bytes;
    }

    /// <summary>A copy for a client's snapshot of its options.</summary>
    internal SharedViewOptions Copy()
    {
        var copy = (SharedViewOptions)MemberwiseClone();
        copy.EtcdEndpoints = [.. EtcdEndpoints];
        return copy;
    }
}
