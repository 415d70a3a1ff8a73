using System.Globalization;
using System.Net;
using System.Text.Json;
using Ballast.Cli.Monitor;
using Ballast.FaultInjection;
using Ballast.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ballast.Tests.Monitor;

/// <summary>
/// Real memcached servers and one or more <c>ballast monitor</c> hosts over them, each listening on a free loopback
/// port, and no application: the monitors are the pool's only frontends. Everything is stopped at disposal.
/// </summary>
internal sealed class MonitorHarness : IAsyncDisposable
{
    private readonly MemcachedServers _servers;
    private readonly List<MonitorHost> _monitors = [];
    private readonly List<FaultProxy> _links = [];

    private MonitorHarness(MemcachedServers servers) => _servers = servers;

    public IReadOnlyList<MonitorHost> Monitors => _monitors;

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(10) };

    public MemcachedServers Servers => _servers;

    /// <summary>The monitors' links to each server (a fault proxy per server), when started with <c>linked</c>; else empty.</summary>
    public IReadOnlyList<FaultProxy> Links => _links;

    public string EndPoint(int server) => _servers[server].EndPoint;

    /// <summary>
    /// Starts the servers and the monitors, and waits until every monitor has every server up. With
    /// <paramref name="etcdEndpoint"/>, the view is kept in that etcd (<c>--view etcd</c>). With
    /// <paramref name="linked"/>, the monitors reach each server through a fault proxy of their own (<see cref="Links"/>);
    /// <paramref name="configure"/> changes the monitors' client options after the command's defaults, and
    /// <paramref name="pollInterval"/> the stats poll's interval (default the command's, 1 s).
    /// </summary>
    public static async Task<MonitorHarness> StartAsync(
        int serverCount = 3,
        int monitorCount = 1,
        string? etcdEndpoint = null,
        IReadOnlyList<string>? allowedHosts = null,
        bool linked = false,
        Action<MemcachedClientOptions>? configure = null,
        TimeSpan? pollInterval = null)
    {
        var harness = new MonitorHarness(await MemcachedServers.StartAsync(serverCount));
        try
        {
            if (linked)
            {
                harness._links.AddRange(harness._servers.Processes.Select(p => FaultProxy.Start(p.Host, p.Port)));
            }

            // Adopted as an operator adopts a pool (`ballast view init`): the monitors then start without a flush, and
            // every flush a test sees is one it caused.
            string[] store = etcdEndpoint is null ? [] : ["--view", "etcd", "--etcd-endpoints", etcdEndpoint];
            var init = await Cli.CliHarness.RunAsync(["view", "init", "--servers", string.Join(",", harness._servers.EndPoints), .. store]);
            if (init.ExitCode != 0)
            {
                throw new InvalidOperationException($"view init failed: {init.Error}");
            }

            for (var m = 0; m < monitorCount; m++)
            {
                var options = new MemcachedClientOptions();
                foreach (var endPoint in harness._servers.EndPoints)
                {
                    options.Servers.Add(endPoint);
                }

                // The command's own defaults (ballast monitor without --timeout), so the test measures what users get.
                MonitorSettings.ConfigureClient(options, timeoutGiven: false);
                if (etcdEndpoint is not null)
                {
                    options.SharedView.UseEtcdView([etcdEndpoint]);
                }

                if (linked)
                {
                    options.ConnectVia = harness.LinkOf;
                }

                configure?.Invoke(options);
                var settings = new MonitorSettings
                {
                    Listen = new IPEndPoint(IPAddress.Loopback, 0),
                    Client = options,
                    LoggerFactory = NullLoggerFactory.Instance,
                    AllowedHosts = allowedHosts ?? [],
                    PollInterval = pollInterval ?? MonitorSettings.DefaultPollInterval,
                };
                var monitor = MonitorHost.Create(settings, etcdEndpoint is null ? "memcached" : "etcd");
                harness._monitors.Add(monitor);
                await monitor.StartAsync(CancellationToken.None);
            }

            // A brand-new pool's servers are flushed once by the first frontend before anyone reads them: the tests
            // start once that is over.
            for (var m = 0; m < monitorCount; m++)
            {
                for (var s = 0; s < serverCount; s++)
                {
                    Assert.True(await harness.WaitForStateAsync(m, s, "up", TimeSpan.FromSeconds(10)), $"monitor {m} never showed server {s} up");
                }
            }
        }
        catch
        {
            await harness.DisposeAsync();
            throw;
        }

        return harness;
    }

    public Uri Address(int monitor) => _monitors[monitor].Address!;

    /// <summary>The events of a monitor's timeline for one server, newest first, as /api/status gives them.</summary>
    public async Task<JsonElement[]> EventsAsync(int monitor, int server)
        => (await StatusAsync(monitor)).GetProperty("events").EnumerateArray().Where(e => e.GetProperty("server").GetString() == EndPoint(server)).ToArray();

    /// <summary>GET /api/status of a monitor, parsed.</summary>
    public async Task<JsonElement> StatusAsync(int monitor)
    {
        var json = await Http.GetStringAsync(new Uri(Address(monitor), "api/status"));
        return JsonDocument.Parse(json).RootElement.Clone();
    }

    /// <summary>A server's entry in a monitor's /api/status.</summary>
    public async Task<JsonElement> ServerStatusAsync(int monitor, int server)
    {
        var status = await StatusAsync(monitor);
        return status.GetProperty("servers").EnumerateArray().Single(s => s.GetProperty("server").GetString() == EndPoint(server));
    }

    /// <summary>
    /// Polls /api/status (every 50 ms, for at most <paramref name="timeout"/>) until the server shows
    /// <paramref name="state"/>. "down" matches probing too: a down server alternates between the two while probed.
    /// </summary>
    public async Task<bool> WaitForStateAsync(int monitor, int server, string state, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var shown = (await ServerStatusAsync(monitor, server)).GetProperty("state").GetString();
            if (shown == state || (state == "down" && shown == "probing"))
            {
                return true;
            }

            await Task.Delay(50);
        }

        return false;
    }

    /// <summary>memcached's own count of flushes, read straight from the server with a client of its own.</summary>
    public async Task<long> FlushCountAsync(int server) => long.Parse((await DirectStatsAsync(server))["cmd_flush"], CultureInfo.InvariantCulture);

    /// <summary>A server's <c>stats</c>, read straight from it (no shared view): the test's own eyes.</summary>
    public async Task<IReadOnlyDictionary<string, string>> DirectStatsAsync(int server)
    {
        await using var direct = DirectClient(server);
        var stats = await direct.StatsAsync();
        return stats[0].Values ?? throw new InvalidOperationException($"{EndPoint(server)} did not answer stats: {stats[0].Error}");
    }

    /// <summary>A client of one server alone, straight to it, with no shared view.</summary>
    public MemcachedClient DirectClient(int server)
    {
        var options = new MemcachedClientOptions { OperationTimeout = TimeSpan.FromSeconds(3), ConnectTimeout = TimeSpan.FromSeconds(3) };
        options.Servers.Add(new ServerEndPoint(_servers[server].Host, _servers[server].Port));
        options.SharedView.Enabled = false;
        return new MemcachedClient(options);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        foreach (var monitor in _monitors)
        {
            await monitor.StopAsync();
            await monitor.DisposeAsync();
        }

        foreach (var link in _links)
        {
            await link.DisposeAsync();
        }

        await _servers.DisposeAsync();
    }

    /// <summary>Where a monitor connects for <paramref name="server"/>: its link's proxy.</summary>
    private ServerEndPoint LinkOf(ServerEndPoint server)
    {
        var link = _links[Enumerable.Range(0, _servers.Processes.Count).Single(s => _servers[s].Port == server.Port)];
        return new ServerEndPoint(link.Host, link.Port);
    }
}
