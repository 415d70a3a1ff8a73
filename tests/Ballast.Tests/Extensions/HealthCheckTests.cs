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
