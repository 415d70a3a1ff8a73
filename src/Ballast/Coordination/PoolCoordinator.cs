using Ballast.Diagnostics;
using Ballast.Failback;
using Ballast.Invalidation;
using Ballast.Pool;
using Ballast.SharedView;

namespace Ballast.Coordination;

/// <summary>
/// Builds the parts of one client's pool and runs their background work. Each part has one job and is handed only
/// what it needs: the servers (<see cref="ServerSet"/>), whether each may be read (<see cref="ServerAccess"/>), the
/// shared view's protocol and its refresher, fencing (<see cref="Fencer"/>), invalidations and their journal,
/// failback, and the journal's retries. This class owns none of their logic: it wires them, ticks them, and stops
/// them in order.
/// </summary>
internal sealed class PoolCoordinator : IAsyncDisposable
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(25);

    private readonly MemcachedClientOptions _options;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _shutdown = new();
    private readonly ViewRefresher? _refresher;
    private readonly FailbackCoordinator _failback;
    private readonly JournalRetrier _retrier;
    private readonly Task _maintenance;
    private Fencer? _fencer;

    public PoolCoordinator(MemcachedClientOptions options, TimeProvider time, IServerEvents sink)
    {
        _options = options;
        _time = time;
        Events = new PoolEvents(sink, time);
        Identity = PoolIdentity.For(options, options.Runtime.NewFrontendId());

        // First of what may fail (a journal of another pool, or one held by another process), before anything runs.
        Journal = new InvalidationJournal(options.Invalidation.JournalPath, Identity.PoolName, options.Logger);
        Servers = new ServerSet(options, time, (node, reason, error) => _fencer?.OnLocalFailure(node, reason, error));
        foreach (var node in Servers.All)
        {
            node.Flushed = Events.ServerFlushed;
        }

        var viewEnabled = options.SharedView.Enabled && options.FailoverPolicy != FailoverPolicy.Rehash;
        var seal = new ViewRecordSeal(options.SharedView.SecretBytes, Identity.PoolName);
        View = new ClusterView(Servers.All.Length, options.SharedView.Bound, options.SharedView.Bound - options.SharedView.RefreshInterval, time, viewEnabled);
        var evidence = new FenceEvidence(Servers.All.Length, time);
        Access = new ServerAccess(View, viewEnabled ? evidence : null);
        Protocol = viewEnabled
            ? new ViewProtocol(CreateStore(seal), Servers.All, Identity.FrontendId, options.SharedView.Bound, options.Failback.LockTimeToLive, time, options.SharedView.ReadOnly, seal, evidence)
            : null;
        if (Protocol is { } protocol && protocol.Store.ServerHostingReplica(0) is not null && protocol.Store.ReplicaCount - protocol.WriteQuorum < 1)
        {
            options.Logger.ViewCannotTolerateFailure(Identity.PoolName, protocol.Store.ReplicaCount, protocol.WriteQuorum);
        }

        _fencer = new Fencer(View, Protocol, Events, Identity.FrontendId, options.SharedView.RefreshInterval / 2, time, _shutdown.Token);
        Invalidations = new Invalidator(_fencer, Journal, Access, Events, options, time, _shutdown.Token);
        _failback = new FailbackCoordinator(Servers, View, Protocol, _fencer, Journal, Events, options, time, Identity.FrontendId);
        _retrier = new JournalRetrier(Journal, Servers, View, Events, options, _fencer);

        // Servers this process owes invalidations to (from an earlier run's journal) are not read until settled.
        foreach (var node in OwedFromJournal())
        {
            node.Health.MarkDown();
        }

        if (Protocol is not null)
        {
            _refresher = new ViewRefresher(Protocol, View, Servers, Events, options.SharedView, time, (node, epoch) => Journal.Supersede(node.EndPoint.ToString(), epoch), _fencer.OnEmptied);
            _refresher.Start(_shutdown.Token);
        }

        _maintenance = Runtime.WorkScheduler.Current.Run(() => MaintainAsync(_shutdown.Token));
    }

    /// <summary>Where transitions and background failures are reported.</summary>
    public PoolEvents Events { get; }

    /// <summary>The pool's name and this frontend's id.</summary>
    public PoolIdentity Identity { get; }

    /// <summary>The servers and where keys go.</summary>
    public ServerSet Servers { get; }

    /// <summary>This frontend's copy of the shared view.</summary>
    public ClusterView View { get; }

    /// <summary>Whether a server may be read, written or reached now.</summary>
    public ServerAccess Access { get; }

    /// <summary>The shared view's protocol over its store; null when the pool keeps no view (Rehash, or switched off).</summary>
    public ViewProtocol? Protocol { get; }

    /// <summary>Invalidations this frontend owes.</summary>
    public InvalidationJournal Journal { get; }

    /// <summary>Confirm-or-fence for every invalidation of this pool.</summary>
    public Invalidator Invalidations { get; }

    /// <summary>Cancelled when the client is disposed: the lifetime of work no caller may cancel (invalidations).</summary>
    public CancellationToken ShutdownToken => _shutdown.Token;

    /// <summary>
    /// Completes when the first read of the shared view has finished (with or without a quorum); at once without a
    /// view. Operations wait for it, so a new frontend starts with the fences others published.
    /// </summary>
    public Task Ready => _refresher?.Ready ?? Task.CompletedTask;

    /// <summary>
    /// True when operations may go ahead without waiting for a view read: there is no view, or its first read is over
    /// and its lease is fresh for reads, or the view is out of reach (waiting would not help). See
    /// <see cref="RenewLapsedLeaseAsync"/>.
    /// </summary>
    public bool IsViewCurrent => _refresher?.IsCurrent ?? true;

    /// <summary>
    /// Waits, at most <paramref name="timeout"/>, for a view read that renews a lease found lapsed while the view was
    /// within reach: on a loaded machine the periodic read may start or end late, and a read or store then refused
    /// would be a miss for nothing. What the operation may do is still decided by the lease that read grants. Never
    /// throws for the read's own failure (reported in the background); throws when the caller leaves.
    /// </summary>
    public async ValueTask RenewLapsedLeaseAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (_refresher is null || _refresher.IsCurrent)
        {
            return;
        }

        await _refresher.RenewLapsedLeaseAsync(_shutdown.Token).WaitAsync(timeout, _time, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>
    /// After a first view read that reached no quorum: throws a copy of a server's TLS or login failure if that is why,
    /// since no key of the pool can be read then and the misconfiguration, not a miss, is the answer.
    /// </summary>
    public void ThrowIfViewUnreadableForMisconfiguration()
    {
        if (!View.IsLeaseFresh)
        {
            Servers.ThrowIfAnyMisconfigured();
        }
    }

    /// <summary>
    /// After a first view read that reached no quorum: lets the connection attempts under way end (at most a connect
    /// timeout), so a TLS or login failure that is still being found out is reported as such, not as a down server.
    /// </summary>
    public Task SettleFirstConnectsAsync()
        => View.HasLease ? Task.CompletedTask : Servers.SettleConnectsAsync(_options.ConnectTimeout, _time);

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

        if (Protocol is not null)
        {
            await Protocol.DisposeAsync().ConfigureAwait(false);
        }

        await Servers.DisposeAsync().ConfigureAwait(false);
        Journal.Dispose();
        _shutdown.Dispose();
    }

    /// <summary>Reads the shared view again now (tests, and a monitor that wants a fresh picture).</summary>
    internal Task RefreshViewAsync(CancellationToken cancellationToken)
        => _refresher?.RefreshAsync(_time.GetTimestamp(), cancellationToken) ?? Task.CompletedTask;

    /// <summary>
    /// The background loop: every tick, a view read when one is due, a recovery step for each down or fenced server
    /// (at most one per server at a time), and a round of journal retries when something is owed. Bounded per tick;
    /// stops with the client.
    /// </summary>
    private async Task MaintainAsync(CancellationToken cancellationToken)
    {
        await FenceServersOwedFromJournalAsync(cancellationToken).ConfigureAwait(false);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                _refresher?.RefreshIfDue(cancellationToken);
                foreach (var node in Servers.All)
                {
                    if (_failback.NeedsStep(node) && node.Health.TryBeginStep())
                    {
                        Events.Observe(_failback.StepAsync(node, cancellationToken), "recovery step", node);
                    }
                }

                _retrier.RetryIfOwed(cancellationToken);
                await Runtime.WorkScheduler.Current.Delay(Tick, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception error)
            {
                // The loop must outlive any one failed step; each step reports through events and retries next tick.
                _options.Logger.MaintenanceStepFailed(error, Identity.PoolName);
                await Task.Delay(Tick, _time, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// A process that restarts with invalidations still owed (a journal on disk) cannot know whether those keys were
    /// read since: it fences their servers, and the flush that readmits them settles the debt.
    /// </summary>
    private async Task FenceServersOwedFromJournalAsync(CancellationToken cancellationToken)
    {
        var owed = OwedFromJournal();
        if (owed.Count == 0)
        {
            return;
        }

        await Ready.ConfigureAwait(false);
        foreach (var node in owed)
        {
            await _fencer!.FenceAsync(node, ServerFailureReason.InvalidationUnconfirmed, "invalidations owed from the journal of an earlier run", cancellationToken, markedDownByCaller: true).ConfigureAwait(false);
        }
    }

    private List<ServerNode> OwedFromJournal()
    {
        var owed = Journal.Snapshot().Select(p => p.Server).ToHashSet(StringComparer.Ordinal);
        return [.. Servers.All.Where(n => owed.Contains(n.EndPoint.ToString()))];
    }

    /// <summary>The view store the options select: one registered with <see cref="SharedViewOptions.UseStore"/>, or the pool's memcached witnesses.</summary>
    private ISharedViewStore CreateStore(ViewRecordSeal seal)
    {
        if (_options.SharedView.StoreFactory is { } factory)
        {
            var context = new SharedViewStoreContext(Identity.PoolName, Servers.All.Length, _options.SharedView.Bound, _options.Failback.LockTimeToLive, _time, _options.Logger);
            return factory(context) ?? throw new InvalidOperationException("The shared-view store factory registered with SharedView.UseStore returned null.");
        }

        return new MemcachedViewStore(Servers.Main, Servers.All.Select(n => n.EndPoint).ToArray(), Identity.PoolName, _time, seal);
    }
}
