using Ballast.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Ballast.Tests.Extensions;

/// <summary>The health check against a real pool: servers killed one by one.</summary>
[Collection(ApplicationCollection.Name)]
public sealed class HealthCheckTests : IAsyncLifetime
{
    private MemcachedServers _servers = null!;

    public async Task InitializeAsync() => _servers = await MemcachedServers.StartAsync(3);

    public async Task DisposeAsync() => await _servers.DisposeAsync();

    [Fact]
    public async Task Healthy_then_Degraded_with_one_of_three_servers_killed_then_Unhealthy_without_quorum()
    {
        using var host = BallastHost.Standard(_servers);
        await host.StartAsync();
        var health = host.Services.GetRequiredService<HealthCheckService>();

        // A new client is Degraded until its first read of the shared view (the view is not fresh yet).
        var healthy = await WaitForAsync(health, HealthStatus.Healthy);
        Assert.All(_servers.EndPoints, e => Assert.Equal("Up", healthy.Data[e.ToString()]));
        Assert.Equal(0, healthy.Data["pending_invalidations"]);

        _servers[0].Kill();
        var degraded = await WaitForAsync(health, HealthStatus.Degraded);
        Assert.NotEqual("Up", degraded.Data[_servers.EndPoints.First().ToString()]);
        Assert.Equal("Up", degraded.Data[_servers.EndPoints.Last().ToString()]);

        _servers[1].Kill();
        var unhealthy = await WaitForAsync(health, HealthStatus.Unhealthy);
        Assert.Contains("1 of 3 servers up", unhealthy.Description, StringComparison.Ordinal);
        await host.StopAsync();
    }

    /// <summary>
    /// A readiness probe must not fail every deploy: until the client's first read of the shared view has ended it is
    /// Healthy, described as starting (here the view's servers swallow every packet, so the first read takes a while).
    /// </summary>
    [Fact]
    public async Task A_client_whose_first_view_read_is_under_way_is_healthy_and_starting_not_degraded()
    {
        var proxies = _servers.Processes.Select(p => Ballast.FaultInjection.FaultProxy.Start(p.Host, p.Port)).ToArray();
        try
        {
            foreach (var proxy in proxies)
            {
                proxy.SetMode(Ballast.FaultInjection.ProxyFaultMode.Blackhole);
            }

            var options = _servers.Options(o => o.SharedView.Bound = TimeSpan.FromSeconds(1));
            options.ConnectVia = endPoint =>
            {
                var proxy = proxies[_servers.EndPoints.ToList().IndexOf(endPoint)];
                return new ServerEndPoint(proxy.Host, proxy.Port);
            };
            await using var client = new MemcachedClient(options);
            var services = new ServiceCollection().AddLogging();
            services.AddSingleton<IMemcachedClient>(client);
            services.AddHealthChecks().AddBallast();
            await using var provider = services.BuildServiceProvider();
            var health = provider.GetRequiredService<HealthCheckService>();

            var starting = (await health.CheckHealthAsync()).Entries["ballast"];
            Assert.True(client.IsStarting);
            Assert.Equal(HealthStatus.Healthy, starting.Status);
            Assert.Contains("starting", starting.Description, StringComparison.Ordinal);
            Assert.True((bool)starting.Data["starting"]);

            // Once the first read has ended without a quorum, it is what it is: no view, no reads.
            Assert.True(await Ballast.Tests.FaultInjection.TextClient.EventuallyAsync(() => !client.IsStarting, TimeSpan.FromSeconds(15)));
            Assert.NotEqual(HealthStatus.Healthy, (await health.CheckHealthAsync()).Entries["ballast"].Status);
        }
        finally
        {
            foreach (var proxy in proxies)
            {
                await proxy.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// Every server answering, but too slowly for the shared view's reads to renew its lease within the bound: reads
    /// miss (fail closed), and the health check must say Degraded although every server is up.
    /// </summary>
    [Fact]
    public async Task A_lapsed_view_lease_is_degraded_even_with_every_server_up()
    {
        await using var harness = await Ballast.Tests.Integrity.IntegrityHarness.StartAsync(FailoverPolicy.Offline, frontendCount: 1, configure: o =>
        {
            o.OperationTimeout = TimeSpan.FromSeconds(5);
            o.SharedView.Bound = TimeSpan.FromMilliseconds(400);
        });
        var client = harness.Frontends[0];
        var services = new ServiceCollection().AddLogging();
        services.AddSingleton<IMemcachedClient>(client);
        services.AddHealthChecks().AddBallast();
        await using var provider = services.BuildServiceProvider();
        var health = provider.GetRequiredService<HealthCheckService>();

        for (var s = 0; s < 3; s++)
        {
            harness.Slow(0, s, TimeSpan.FromMilliseconds(300));
        }

        Assert.True(await Ballast.Tests.FaultInjection.TextClient.EventuallyAsync(() => !client.IsSharedViewFresh, TimeSpan.FromSeconds(5)), "the lease did not lapse");
        var entry = (await health.CheckHealthAsync()).Entries["ballast"];
        Assert.All(harness.Frontends[0].Servers, e => Assert.Equal("Up", entry.Data[e.ToString()]));
        Assert.False((bool)entry.Data["shared_view_fresh"]);
        Assert.Equal(HealthStatus.Degraded, entry.Status);
    }

    private static async Task<HealthReportEntry> WaitForAsync(HealthCheckService health, HealthStatus wanted)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        HealthReportEntry entry;
        do
        {
            await Task.Delay(100);
            entry = (await health.CheckHealthAsync()).Entries["ballast"];
        }
        while (entry.Status != wanted && DateTime.UtcNow < deadline);

        Assert.Equal(wanted, entry.Status);
        return entry;
    }
}
