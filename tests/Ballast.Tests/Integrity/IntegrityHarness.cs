using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Ballast.FaultInjection;

namespace Ballast.Tests.Integrity;

/// <summary>
/// Real memcached servers, frontends (each its own client) that reach every server through their own fault proxy,
/// and an authoritative "database", with the cache-aside read and write of the scenarios. Everything is stopped at
/// disposal.
/// </summary>
internal sealed class IntegrityHarness : IAsyncDisposable
{
    private readonly List<MemcachedProcess> _servers;
    private readonly FaultProxy[,] _proxies;
    private readonly ConcurrentDictionary<string, int> _database = new(StringComparer.Ordinal);
    private readonly List<IAsyncDisposable> _late = [];
    private readonly int _serverCount;
    private readonly Action<MemcachedClientOptions>? _configure;

    private IntegrityHarness(List<MemcachedProcess> servers, FaultProxy[,] proxies, MemcachedClient[] frontends, FailoverPolicy policy, int serverCount, Action<MemcachedClientOptions>? configure)
    {
        _servers = servers;
        _proxies = proxies;
        _serverCount = serverCount;
        _configure = configure;
        Frontends = frontends;
        Policy = policy;
    }

    /// <summary>
    /// Options applied to every frontend of harnesses started in the current async flow, before the test's own: lets
    /// a test run an existing scenario on another view store (etcd) unchanged.
    /// </summary>
    public static AsyncLocal<Action<MemcachedClientOptions>?> AmbientConfigure { get; } = new();

    public MemcachedClient[] Frontends { get; }

    public FailoverPolicy Policy { get; }

    public ConcurrentQueue<ServerFailedEventArgs> Failures { get; } = new();

    /// <summary>Errors the writes' invalidations ended with (they still count as completed writes).</summary>
    public ConcurrentQueue<string> WriteErrors { get; } = new();

    public ConcurrentQueue<(int Frontend, ServerRecoveredEventArgs Args)> Recoveries { get; } = new();

    /// <summary>Every flush a frontend made (its <c>ServerFlushed</c> events), with the frontend's index.</summary>
    public ConcurrentQueue<(int Frontend, ServerFlushedEventArgs Args)> Flushes { get; } = new();

    public MemcachedProcess Server(int index) => _servers[index];

    public ServerEndPoint EndPoint(int index) => new(_servers[index].Host, _servers[index].Port);

    /// <summary>Starts <paramref name="serverCount"/> servers (plus one gutter server under Gutter) and the frontends.</summary>
    public static async Task<IntegrityHarness> StartAsync(FailoverPolicy policy, int serverCount = 3, int frontendCount = 2, Action<MemcachedClientOptions>? configure = null)
    {
        var total = serverCount + (policy == FailoverPolicy.Gutter ? 1 : 0);
        var servers = new List<MemcachedProcess>();
        var proxies = new FaultProxy[frontendCount, total];
        try
        {
            for (var s = 0; s < total; s++)
            {
                servers.Add(await MemcachedProcess.StartAsync(new MemcachedProcessOptions { Threads = 2 }));
                for (var f = 0; f < frontendCount; f++)
                {
                    proxies[f, s] = FaultProxy.Start(servers[s].Host, servers[s].Port);
                }
            }
        }
        catch
        {
            await DisposeAllAsync(servers, proxies);
            throw;
        }

        var frontends = new MemcachedClient[frontendCount];
        var harness = new IntegrityHarness(servers, proxies, frontends, policy, serverCount, configure);
        for (var f = 0; f < frontendCount; f++)
        {
            var frontend = f;
            frontends[f] = harness.NewFrontend(frontend, index => proxies[frontend, index]);
        }

        // Scenarios start from frontends that have read the shared view: a cold start (JIT, first connections) on a
        // loaded machine can take longer than the first read's wait, and a frontend without a fresh view only misses.
        // A brand-new pool has no view records, so the first frontend flushes every server once before any is read
        // (fail closed): scenarios start once every frontend has every server up, with that start-up forgotten.
        await WaitUntilAsync(() => frontends.All(c => c.IsSharedViewFresh && c.FirstViewRead.IsCompleted), TimeSpan.FromSeconds(10));
        await WaitUntilAsync(() => frontends.All(c => Enumerable.Range(0, total).All(s => c.GetServerState(harness.EndPoint(s)) == ServerState.Up)), TimeSpan.FromSeconds(5));
        harness.Failures.Clear();
        harness.Recoveries.Clear();
        return harness;
    }

    /// <summary>
    /// Starts one more frontend, index <see cref="Frontends"/>.Length, that reaches every server through proxies of its
    /// own (with <paramref name="latency"/> each way from the start, when given), returned so that the test can change
    /// its links: a frontend joining the pool late. Unlike the others it is not waited for: its first read of the shared
    /// view is under way when this returns. Disposed with the harness.
    /// </summary>
    public (MemcachedClient Client, FaultProxy[] Links) StartLateFrontend(TimeSpan? latency = null, Action<MemcachedClientOptions>? configure = null)
    {
        var links = _servers.Select(server => FaultProxy.Start(server.Host, server.Port)).ToArray();
        _late.AddRange(links);
        if (latency is { } each)
        {
            foreach (var link in links)
            {
                link.SetMode(ProxyFaultMode.Latency, each);
            }
        }

        var client = NewFrontend(Frontends.Length, index => links[index], configure);
        _late.Insert(0, client);
        return (client, links);
    }

    /// <summary>A frontend's client as the scenarios configure it, each connection to server i made through <paramref name="link"/>(i).</summary>
    private MemcachedClient NewFrontend(int frontend, Func<int, FaultProxy> link, Action<MemcachedClientOptions>? configure = null)
    {
        var options = new MemcachedClientOptions
        {
            FailoverPolicy = Policy,
            OperationTimeout = TimeSpan.FromMilliseconds(300),

            // Every connection goes to a loopback proxy, which accepts even while it blackholes or resets the link:
            // no fault here shows as a slow connect. A short connect timeout only failed healthy servers when the
            // machine was loaded (S4 saw S1 fail on it), so it is generous.
            ConnectTimeout = TimeSpan.FromSeconds(3),
        };
        for (var s = 0; s < _serverCount; s++)
        {
            options.Servers.Add(EndPoint(s));
        }

        if (Policy == FailoverPolicy.Gutter)
        {
            options.Gutter.Servers.Add(EndPoint(_serverCount));
        }

        options.ConnectVia = endPoint =>
        {
            var proxy = link(_servers.FindIndex(p => p.Port == endPoint.Port));
            return new ServerEndPoint(proxy.Host, proxy.Port);
        };
        options.FailureDetection.ProbeInterval = TimeSpan.FromMilliseconds(50);
        options.FailureDetection.MaxProbeInterval = TimeSpan.FromMilliseconds(200);
        options.Failback.MinimumDownTime = TimeSpan.FromMilliseconds(300);
        options.Failback.RehashRetryInterval = TimeSpan.FromMilliseconds(500);
        options.Invalidation.ConfirmTimeout = TimeSpan.FromMilliseconds(200);
        AmbientConfigure.Value?.Invoke(options);
        _configure?.Invoke(options);
        configure?.Invoke(options);
        var client = new MemcachedClient(options);
        client.ServerFailed += (_, e) => Failures.Enqueue(e);
        client.ServerRecovered += (_, e) => Recoveries.Enqueue((frontend, e));
        client.ServerFlushed += (_, e) => Flushes.Enqueue((frontend, e));
        return client;
    }

    /// <summary>A key whose own server is <paramref name="server"/>.</summary>
    public string KeyOn(int server, string prefix)
    {
        for (var i = 0; i < 100_000; i++)
        {
            var key = string.Create(CultureInfo.InvariantCulture, $"{prefix}-{i}");
            if (Frontends[0].Locate(key) == EndPoint(server))
            {
                return key;
            }
        }

        throw new InvalidOperationException($"No key maps to server {server}.");
    }

    public int DatabaseVersion(string key) => _database.GetOrAdd(key, 1);

    /// <summary>A write to the database alone (the caller then updates the cache itself); returns the new version.</summary>
    public int DatabaseVersionAfterWrite(string key) => _database.AddOrUpdate(key, 2, (_, v) => v + 1);

    /// <summary>Cache-aside read: the cache, else the database and a refill under a lease. Returns the version read.</summary>
    public async Task<int> ReadAsync(int frontend, string key)
    {
        var client = Frontends[frontend];
        var cached = await client.GetForRefillAsync(key);
        if (cached.IsHit)
        {
            return int.Parse(cached.AsString()!.AsSpan(1), CultureInfo.InvariantCulture);
        }

        var version = DatabaseVersion(key);
        if (cached.Lease is { } lease)
        {
            try
            {
                await client.RefillAsync(key, Encoding.ASCII.GetBytes($"v{version}"), lease);
            }
            catch (MemcachedException)
            {
                // A refill that fails costs a later miss, nothing more.
            }
        }

        return version;
    }

    /// <summary>Cache-aside write: the database, then the invalidation. Returns the new version once the delete returned.</summary>
    public async Task<int> WriteAsync(int frontend, string key, CancellationToken cancellationToken = default)
    {
        var version = _database.AddOrUpdate(key, 2, (_, v) => v + 1);
        try
        {
            await Frontends[frontend].DeleteAsync(key, cancellationToken);
        }
        catch (Exception error) when (error is MemcachedException or OperationCanceledException)
        {
            // Completed with an error, or the caller gave up waiting: the scenarios count it as completed all the same.
            WriteErrors.Enqueue(error.Message);
        }

        return version;
    }

    /// <summary>
    /// Reads <paramref name="key"/> through <paramref name="frontend"/> for <paramref name="duration"/> after
    /// <paramref name="since"/>, and counts the reads older than <paramref name="written"/> that began within and beyond
    /// the bound.
    /// </summary>
    public async Task<(int Inside, int Beyond, TimeSpan? LastStale)> CountStaleReadsAsync(int frontend, string key, int written, System.Diagnostics.Stopwatch since, TimeSpan bound, TimeSpan duration)
    {
        var inside = 0;
        var beyond = 0;
        TimeSpan? last = null;
        while (since.Elapsed < duration)
        {
            var began = since.Elapsed;
            if (await ReadAsync(frontend, key) < written)
            {
                last = began;
                if (began > bound)
                {
                    beyond++;
                }
                else
                {
                    inside++;
                }
            }

            await Task.Delay(10);
        }

        return (inside, beyond, last);
    }

    public void Cut(int frontend, int server) => _proxies[frontend, server].SetMode(ProxyFaultMode.Blackhole);

    public void Heal(int frontend, int server) => _proxies[frontend, server].SetMode(ProxyFaultMode.Pass);

    public void Slow(int frontend, int server, TimeSpan latency) => _proxies[frontend, server].SetMode(ProxyFaultMode.Latency, latency);

    public void CutAll(int server) => ForEachFrontend(f => Cut(f, server));

    public void HealAll(int server) => ForEachFrontend(f => Heal(f, server));

    public FaultProxy Proxy(int frontend, int server) => _proxies[frontend, server];

    /// <summary>memcached's own count of flushes, read straight from the server (not through a proxy).</summary>
    public async Task<long> FlushCountAsync(int server)
    {
        await using var direct = DirectClient(server);
        var stats = await direct.StatsAsync();
        return long.Parse(stats[0].Values!["cmd_flush"], CultureInfo.InvariantCulture);
    }

    /// <summary>An operator's <c>flush_all</c> of server <paramref name="server"/>, straight to it (no proxy): it also erases the server's copy of the view.</summary>
    public async Task OperatorFlushAsync(int server)
    {
        await using var direct = DirectClient(server);
        await direct.FlushAllAsync();
    }

    /// <summary>What the server itself holds for a key (null when it holds nothing), read straight from it: whether a delete landed.</summary>
    public async Task<string?> DirectGetAsync(int server, string key)
    {
        await using var direct = DirectClient(server);
        return await direct.GetStringAsync(key);
    }

    /// <summary>Stores a value straight on one server (no proxy, no shared view): a value the pool's frontends did not write through this test.</summary>
    public async Task DirectSetAsync(int server, string key, string value)
    {
        await using var direct = DirectClient(server);
        Assert.True((await direct.SetAsync(key, value)).Status == StoreStatus.Stored, $"the direct set of '{key}' on server {server} was not stored");
    }

    /// <summary>A client of one server alone, straight to it (no proxy, no shared view): the test's own eyes.</summary>
    private MemcachedClient DirectClient(int server)
    {
        var options = new MemcachedClientOptions { OperationTimeout = TimeSpan.FromSeconds(3), ConnectTimeout = TimeSpan.FromSeconds(3) };
        options.Servers.Add(EndPoint(server));
        options.SharedView.Enabled = false;
        return new MemcachedClient(options);
    }

    /// <summary>
    /// Kills server <paramref name="server"/> and reads <paramref name="keyOnIt"/> through frontend 0 until that frontend
    /// holds the server down (a dead server is noticed by the traffic that goes to it): true within 5 s.
    /// </summary>
    public async Task<bool> KillAndWaitUntilDownAsync(int server, string keyOnIt)
    {
        Server(server).Kill();
        var client = Frontends[0];
        return await WaitUntilAsync(
            () =>
            {
                _ = client.GetAsync(keyOnIt).AsTask();
                return client.GetServerState(EndPoint(server)) is ServerState.Down or ServerState.Probing;
            },
            TimeSpan.FromSeconds(5));
    }

    /// <summary>Polls an asynchronous condition every 20 ms until it holds or the timeout passes (no thread blocked meanwhile).</summary>
    public static async Task<bool> WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(20);
        }

        return true;
    }

    public static async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(20);
        }

        return true;
    }

    public Task<bool> WaitForStateAsync(int server, ServerState state, TimeSpan timeout, params int[] frontends)
    {
        // Down covers probing and recovering too: a frontend may be in the middle of a probe when looked at.
        var which = frontends.Length == 0 ? Enumerable.Range(0, Frontends.Length).ToArray() : frontends;
        return WaitUntilAsync(() => which.All(f => (Frontends[f].GetServerState(EndPoint(server)) == ServerState.Up) == (state == ServerState.Up)), timeout);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var late in _late)
        {
            await late.DisposeAsync();
        }

        foreach (var frontend in Frontends)
        {
            if (frontend is not null)
            {
                await frontend.DisposeAsync();
            }
        }

        await DisposeAllAsync(_servers, _proxies);
    }

    private static async Task DisposeAllAsync(List<MemcachedProcess> servers, FaultProxy[,] proxies)
    {
        foreach (var proxy in proxies)
        {
            if (proxy is not null)
            {
                await proxy.DisposeAsync();
            }
        }

        foreach (var server in servers)
        {
            await server.DisposeAsync();
        }
    }

    private void ForEachFrontend(Action<int> action)
    {
        for (var f = 0; f < Frontends.Length; f++)
        {
            action(f);
        }
    }
}
