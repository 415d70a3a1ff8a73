namespace Ballast.Cli.Chaos;

/// <summary>Progress of a chaos run, reported about four times a second.</summary>
/// <param name="Policy">The policy running.</param>
/// <param name="PolicyIndex">Its index among the policies of the run.</param>
/// <param name="PolicyCount">How many policies the run has.</param>
/// <param name="Elapsed">Time into this policy's run.</param>
/// <param name="Duration">This policy's planned duration.</param>
/// <param name="Operations">Operations so far.</param>
/// <param name="ActiveFault">The fault in force, if any.</param>
public readonly record struct ChaosProgress(FailoverPolicy Policy, int PolicyIndex, int PolicyCount, TimeSpan Elapsed, TimeSpan Duration, long Operations, FaultWindow? ActiveFault);

/// <summary>
/// Runs the chaos check: for each policy in turn, fresh servers and proxies, F frontends running the cache-aside
/// workload, the seeded fault schedule, then the staleness check of the recorded history. No console output; progress
/// goes to the caller's <see cref="IProgress{T}"/>.
/// </summary>
public sealed class ChaosRunner
{
    private readonly ChaosOptions _options;

    /// <summary>Creates a runner; validates the options.</summary>
    public ChaosRunner(ChaosOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        Schedule = FaultSchedule.Create(options);
    }

    /// <summary>The fault schedule every policy gets.</summary>
    public FaultSchedule Schedule { get; }

    /// <summary>The etcd endpoints the frontends use under <c>--view etcd</c> (given, or of the etcd this run started).</summary>
    private IReadOnlyList<string> _etcdEndpoints = [];

    /// <summary>
    /// Runs every policy; returns one result per policy, in order. Under <c>--view etcd</c> with no endpoints given, an
    /// etcd is started on a free loopback port for the run and stopped after it, as the memcached servers are.
    /// </summary>
    public async Task<IReadOnlyList<PolicyResult>> RunAsync(IProgress<ChaosProgress>? progress = null, CancellationToken ct = default)
    {
        Ballast.FaultInjection.EtcdProcess? etcd = null;
        try
        {
            _etcdEndpoints = _options.EtcdEndpoints;
            if (_options.View == SharedViewStoreKind.Etcd && _etcdEndpoints.Count == 0)
            {
                etcd = await Ballast.FaultInjection.EtcdProcess.StartAsync(ct: ct).ConfigureAwait(false);
                _etcdEndpoints = [etcd.Endpoint];
            }

            return await RunPoliciesAsync(progress, ct).ConfigureAwait(false);
        }
        finally
        {
            etcd?.Dispose();
        }
    }

    private async Task<IReadOnlyList<PolicyResult>> RunPoliciesAsync(IProgress<ChaosProgress>? progress, CancellationToken ct)
    {
        var results = new List<PolicyResult>();
        for (var i = 0; i < _options.Policies.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            results.Add(await RunPolicyAsync(_options.Policies[i], i, progress, ct).ConfigureAwait(false));
        }

        return results;
    }

    /// <summary>The bound a policy promises; null for Rehash, which promises none.</summary>
    public TimeSpan? BoundOf(FailoverPolicy policy) => policy == FailoverPolicy.Rehash ? null : _options.Bound;

    /// <summary>Client options for one frontend of a policy's run.</summary>
    public MemcachedClientOptions ClientOptions(FailoverPolicy policy, ChaosCluster cluster, int frontend)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var options = new MemcachedClientOptions
        {
            FailoverPolicy = policy,
            OperationTimeout = _options.EffectiveOperationTimeout,
            ConnectTimeout = _options.ConnectTimeout,
        };
        // Every frontend names the servers by their own endpoints (so ketama places keys alike and the shared view's
        // pool name is the same) and reaches them through its own proxies.
        foreach (var endPoint in cluster.ServerEndPoints)
        {
            options.Servers.Add(endPoint);
        }

        options.ConnectVia = server => cluster.RouteFor(frontend, server);
        if (_options.PhpFrontends > 0)
        {
            // Placed as the PHP frontends' extension places keys.
            options.Distribution = _options.PhpExtension == "memcached" ? KeyDistribution.Ketama : KeyDistribution.PeclConsistent;
        }

        options.SharedView.Bound = _options.Bound;
        if (_options.View == SharedViewStoreKind.Etcd)
        {
            options.SharedView.UseEtcdView(_etcdEndpoints);
        }
        options.Failback.RehashRetryInterval = _options.RehashRetryInterval;
        if (cluster.GutterEndPoint is { } gutter)
        {
            options.Gutter.Servers.Add(gutter);
        }

        return options;
    }

    private async Task<PolicyResult> RunPolicyAsync(FailoverPolicy policy, int index, IProgress<ChaosProgress>? progress, CancellationToken ct)
    {
        await using var cluster = await ChaosCluster.StartAsync(_options.Servers, _options.Frontends, policy == FailoverPolicy.Gutter, ct).ConfigureAwait(false);
        var history = new HistoryRecorder();
        var zipf = new ZipfSampler(_options.Keys, _options.ZipfExponent);
        var clients = new List<MemcachedClient>();
        var frontendClocks = new List<FrontendClock>();
        var phpFrontends = new List<PhpChaosFrontend>();
        var phpDirectory = _options.PhpFrontends > 0 ? Directory.CreateTempSubdirectory("ballast-chaos-php-") : null;
        RunClock? clock = null;
        using var monitoring = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Task? flushMonitoring = null;
        try
        {
            for (var f = 0; f < _options.Frontends; f++)
            {
                var frontendClock = new FrontendClock();
                frontendClocks.Add(frontendClock);
                var client = new MemcachedClient(ClientOptions(policy, cluster, f), frontendClock);
                clients.Add(client);
                var frontend = f;
                client.ServerFailed += (_, e) => Note(frontend, e.Server, e.Time, failed: true, e.ToString());
                client.ServerRecovered += (_, e) => Note(frontend, e.Server, e.Time, failed: false, e.ToString());
                client.ServerFlushed += (_, e) =>
                {
                    if (clock is not null && cluster.IndexOf(e.Server) is var server and >= 0)
                    {
                        history.Add(new FlushEvent(frontend, server, clock.MsOf(e.Time), e.Epoch, e.Reason));
                    }
                };
            }

            var keys = new KeySpace(_options.Keys, _options.Servers, name => cluster.IndexOf(clients[0].Locate(name)));
            var db = new VersionedDatabase(keys.Count);
            using var locks = new KeyLocks(keys.Count);
            clock = new RunClock();
            var flushes = new FlushMonitor(cluster.Servers, clock);
            flushMonitoring = flushes.RunAsync(monitoring.Token);
            var restart = new LeaseAcrossRestart(cluster, clients, db, keys, history.NewWorker(), clock, _options);
            var injector = new FaultInjector(cluster, clock, history, _options, restart, frontendClocks);
            var writeLocks = _options.ApiMix && _options.BatchRatio > 0 && _options.PhpFrontends == 0 ? locks : null;
            var workers = clients.Select((c, f) => new Workload(f, c, db, history, zipf, clock, _options, DistributedCacheShareOf(c, locks, keys), writeLocks).RunAsync(ct)).ToList();
            if (phpDirectory is not null)
            {
                // PHP frontends are numbered after the .NET ones; each waits for its first view read like a .NET one.
                PhpChaosFrontend.WriteScripts(phpDirectory.FullName);
                for (var p = 0; p < _options.PhpFrontends; p++)
                {
                    var frontend = _options.Frontends + p;
                    var php = PhpChaosFrontend.Start(phpDirectory.FullName, _options, cluster.ServerEndPoints, frontend, clock);
                    phpFrontends.Add(php);
                    workers.Add(php.RunAsync(frontend, db, history.NewWorker(), clock, ct));
                }
            }

            var faults = injector.RunAsync(Schedule, ct);
            var all = Task.WhenAll(workers.Append(faults));
            while (!all.IsCompleted)
            {
                progress?.Report(new ChaosProgress(policy, index, _options.Policies.Count, clock.Elapsed, _options.Duration, history.Operations, injector.Active));
                await Task.WhenAny(all, Task.Delay(250, CancellationToken.None)).ConfigureAwait(false);
            }

            try
            {
                await all.ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
            }

            ct.ThrowIfCancellationRequested();

            // Every fault is lifted: the pool must settle. Flushes it makes meanwhile are still watched.
            var settle = await SettleCheck.WaitAsync(clients, cluster.ServerEndPoints.ToArray(), _options.SettleTimeout, ct).ConfigureAwait(false);
            await monitoring.CancelAsync().ConfigureAwait(false);
            await flushMonitoring.ConfigureAwait(false);
            progress?.Report(new ChaosProgress(policy, index, _options.Policies.Count, _options.Duration, _options.Duration, history.Operations, null));
            var counterServers = Enumerable.Range(0, Workload.Counters).Select(c => cluster.IndexOf(clients[0].Locate(Workload.CounterKey(c)))).ToArray();
            var checks = new RunChecks(
                settle,
                FlushChecker.Check(flushes.Samples, history.Faults, history.Events, _options.Servers, history.Flushes),
                flushes.Samples,
                new RestartLeases(restart.LeasesTaken, restart.BroughtRound, restart.OldLeasesStored, restart.Misses),
                keys.Names);
            return PolicyResult.From(policy, _options, BoundOf(policy), history, keys.Servers, clock.Elapsed, counterServers, checks);
        }
        finally
        {
            await monitoring.CancelAsync().ConfigureAwait(false);
            if (flushMonitoring is not null)
            {
                await flushMonitoring.ConfigureAwait(false);
            }

            foreach (var client in clients)
            {
                await client.DisposeAsync().ConfigureAwait(false);
            }

            foreach (var php in phpFrontends)
            {
                await php.DisposeAsync().ConfigureAwait(false);
            }

            phpDirectory?.Delete(recursive: true);
        }

        void Note(int frontend, ServerEndPoint server, DateTimeOffset time, bool failed, string detail)
        {
            if (clock is not null)
            {
                history.Add(new ClientEvent(frontend, cluster.IndexOf(server), clock.MsOf(time), failed, detail));
            }
        }
    }

    /// <summary>A frontend's <c>IDistributedCache</c> share, when the run has one: Ballast.Extensions' cache over its client.</summary>
    private DistributedCacheShare? DistributedCacheShareOf(MemcachedClient client, KeyLocks locks, KeySpace keys)
        => _options.DistributedCacheRatio > 0
            ? new DistributedCacheShare(new Ballast.Extensions.BallastDistributedCache(client, new Ballast.Extensions.BallastDistributedCacheOptions()), locks, keys)
            : null;
}
