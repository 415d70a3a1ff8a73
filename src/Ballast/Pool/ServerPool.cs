using System.Security.Cryptography;
using System.Text;
using Ballast.Distribution;
using Ballast.Health;
using Ballast.Failover;
using Ballast.Invalidation;
using Ballast.SharedView;

namespace Ballast.Pool;

/// <summary>
/// The servers of one client (main pool and gutter), where keys go, and what this frontend knows of each server's
/// health: its own failure detection, the shared view it keeps in step with the other frontends, and the failback
/// of returning servers. Split by concern: <c>ServerPool.Fencing.cs</c> (marking servers down for everyone) and
/// <c>ServerPool.Maintenance.cs</c> (the background loop: view reads, probes, failback, journal retries).
/// </summary>
internal sealed partial class ServerPool : IAsyncDisposable
{
    private readonly MemcachedClientOptions _options;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _shutdown = new();
    private readonly Task _maintenance;

    public ServerPool(MemcachedClientOptions options, TimeProvider time, IServerEvents events)
    {
        _options = options;
        _time = time;
        Events = events;
        var main = options.Servers.ToArray();
        var gutter = options.FailoverPolicy == FailoverPolicy.Gutter ? options.Gutter.Servers.ToArray() : [];
        All = main.Concat(gutter).Select((endPoint, index) => new ServerNode(index, endPoint, options, time, OnLocalFailure)).ToArray();
        Main = All[..main.Length];
        Gutter = All[main.Length..];
        Locator = ServerLocatorFactory.Create(options.Distribution, options.PeclHash, main);
        GutterLocator = gutter.Length > 0 ? ServerLocatorFactory.Create(KeyDistribution.Ketama, options.PeclHash, gutter) : null;
        Policy = options.FailoverPolicy;
        PoolName = options.SharedView.PoolName ?? DerivePoolName(main);
        FrontendId = options.Runtime.NewFrontendId();
        var viewEnabled = options.SharedView.Enabled && Policy != FailoverPolicy.Rehash;
        View = new ClusterView(All.Length, options.SharedView.Bound, time, viewEnabled);
        ReservedKeyPrefix = ReservedKeys.Prefix(PoolName);
        ViewStore = viewEnabled ? CreateViewStore() : null;
        Journal = new InvalidationJournal(options.Invalidation.JournalPath);
        Clock = new HybridLogicalClock(time);
        ShutdownToken = _shutdown.Token;
        Invalidations = new Invalidator(this);
        // Servers this process owes invalidations to (from an earlier run's journal) are not read until settled.
        var owed = Journal.Snapshot().Select(p => p.Server).ToHashSet(StringComparer.Ordinal);
        foreach (var node in All.Where(n => owed.Contains(n.EndPoint.ToString())))
        {
            node.Health.MarkDown();
        }

        if (ViewStore is not null)
        {
            // A store that pushes changes (etcd's watch) gets them applied at once, not at the next refresh.
            // Not before the first read has ended, as with the periodic refresh (see MaintainAsync): the recovery of a
            // brand-new pool's records pushes changes, and a read of them half-written would mark servers down.
            ViewStore.Changed += () =>
            {
                if (Ready is { IsCompleted: true })
                {
                    Observe(RefreshViewAsync(_time.GetTimestamp(), _shutdown.Token), "shared view read on a pushed change");
                }
            };
        }

        _lastViewRead = time.GetTimestamp();
        Ready = ViewStore is null ? Task.CompletedTask : RefreshViewAsync(_lastViewRead, _shutdown.Token, firstRead: true);
        _maintenance = Runtime.WorkScheduler.Current.Run(() => MaintainAsync(_shutdown.Token));
    }

    /// <summary>How long a server's TLS or login failure keeps failing operations before they try it again.</summary>
    private static readonly TimeSpan ConfigurationErrorHold = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Throws a fresh copy of a recent TLS or login failure of any server of the pool (see
    /// <see cref="ServerNode.RecentConfigurationError"/>): a pool that cannot authenticate is misconfigured, and its
    /// callers must hear so rather than read misses.
    /// </summary>
    public void ThrowIfMisconfigured()
    {
        foreach (var node in All)
        {
            if (node.RecentConfigurationError(ConfigurationErrorHold) is { } error)
            {
                throw Connections.CommandFailure.Copy(error, node.EndPoint, error.Message);
            }
        }
    }

    /// <summary>
    /// After a first view read that reached no quorum: lets the connection attempts under way end (at most a connect
    /// timeout), so a TLS or login failure that is still being found out is reported as such, not as a down server.
    /// </summary>
    public async Task SettleFirstConnectsAsync()
    {
        if (View.HasLease)
        {
            return;
        }

        await Task.WhenAll(All.Select(n => n.SettleConnectsAsync(_options.ConnectTimeout, _time))).ConfigureAwait(false);
    }

    /// <summary>
    /// Completes when the first read of the shared view has finished (with or without a quorum). Operations wait for
    /// it, so a new frontend starts with the fences others published instead of with misses or, worse, without them.
    /// </summary>
    public Task Ready { get; }

    public FailoverPolicy Policy { get; }

    /// <summary>Main servers then gutter servers; a node's index here is its index in the shared view.</summary>
    public ServerNode[] All { get; }

    public ServerNode[] Main { get; }

    public ServerNode[] Gutter { get; }

    public IServerLocator Locator { get; }

    public IServerLocator? GutterLocator { get; }

    public string PoolName { get; }

    public string FrontendId { get; }

    public ClusterView View { get; }

    public IViewStore? ViewStore { get; }

    /// <summary>Keys under this prefix are the pool's own (view records, locks); applications may not use them.</summary>
    public string ReservedKeyPrefix { get; }

    public InvalidationJournal Journal { get; }

    public HybridLogicalClock Clock { get; }

    /// <summary>Confirm-or-fence for every invalidation of this pool.</summary>
    public Invalidator Invalidations { get; }

    /// <summary>Cancelled when the client is disposed: the lifetime of work no caller may cancel (invalidations).</summary>
    public CancellationToken ShutdownToken { get; }

    public IServerEvents Events { get; }

    public MemcachedClientOptions Options => _options;

    public TimeProvider Time => _time;

    /// <summary>
    /// Whether reads may be served from <paramref name="node"/>: this frontend has it up, the shared view has it up,
    /// and the view is fresh (read from a quorum within the bound). The hot path of every read.
    /// </summary>
    public bool IsReadable(ServerNode node) => !node.Health.IsDown && View.IsUp(node.Index) && View.IsLeaseFresh;

    /// <summary>
    /// The epoch of the outage a server is in, as gutter entries are tagged: the shared view's epoch while the view
    /// fences it, or (without a view) when this frontend marked it down; 0 when it is in no known outage.
    /// </summary>
    public long OutageEpoch(ServerNode node)
    {
        if (!View.Enabled)
        {
            return node.Health.DownSince;
        }

        var entry = View[node.Index];
        return entry.IsDown ? entry.Epoch : 0;
    }

    /// <summary>The main server that owns a key.</summary>
    public ServerNode Primary(ReadOnlySpan<byte> keyUtf8) => Main[Locator.Locate(keyUtf8)];

    /// <summary>
    /// Whether this frontend can send to <paramref name="node"/>: it holds it up, or holds it down only because the
    /// shared view fences it while its own probes get through. Invalidations go wherever they can land.
    /// </summary>
    public bool CanReach(ServerNode node) => node.Health.CanSend;

    /// <summary>This frontend's view of a server's state: its health, or Down while the shared view fences it.</summary>
    public ServerState StateOf(ServerNode node)
    {
        return node.Health.State switch
        {
            HealthState.Up or HealthState.Suspect => View.IsUp(node.Index) ? ServerState.Up : ServerState.Down,
            HealthState.Probing => ServerState.Probing,
            HealthState.Recovering => ServerState.Recovering,
            _ => ServerState.Down,
        };
    }

    public async ValueTask DisposeAsync()
    {
        await Runtime.WorkScheduler.Current.CancelAsync(_shutdown).ConfigureAwait(false);
        try
        {
            await _maintenance.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        if (ViewStore is not null)
        {
            await ViewStore.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var node in All)
        {
            await node.DisposeAsync().ConfigureAwait(false);
        }

        Journal.Dispose();
        _shutdown.Dispose();
    }

    /// <summary>The view store the options select: the memcached witnesses, or a store a package registered (etcd).</summary>
    private IViewStore CreateViewStore()
        => _options.SharedView.Store == SharedViewStoreKind.Etcd
            ? ViewStoreFactory.CreateEtcd(new ViewStoreContext(PoolName, FrontendId, All, _options.SharedView.EtcdEndpoints.ToArray(), _options.SharedView.Bound, _options.Failback.LockTimeToLive, _time, _options.SharedView.EtcdCredentials))
            : new MemcachedViewStore(Main, All, PoolName, FrontendId, _options.Failback.LockTimeToLive, _time, _options.SharedView.Bound);

    /// <summary>A name every frontend configured with the same servers derives alike.</summary>
    private static string DerivePoolName(ServerEndPoint[] servers)
    {
        var joined = string.Join(",", servers.Select(s => s.ToString()));
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(joined)))[..12].ToLowerInvariant();
    }
}
