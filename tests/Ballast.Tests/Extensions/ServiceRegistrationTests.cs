using Ballast.Tests.Support;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Ballast.Tests.Extensions;

/// <summary>AddBallast: configuration binding, start-up validation, keyed clients, and everything resolving from one "Servers" setting.</summary>
[Collection(ApplicationCollection.Name)]
public sealed class ServiceRegistrationTests : IAsyncLifetime
{
    private MemcachedServers _servers = null!;

    public async Task InitializeAsync() => _servers = await MemcachedServers.StartAsync(3);

    public async Task DisposeAsync() => await _servers.DisposeAsync();

    [Fact]
    public async Task Servers_string_alone_resolves_a_working_client_distributed_cache_hybrid_cache_and_health_check()
    {
        using var host = BallastHost.Build(
            new Dictionary<string, string?> { ["Ballast:Servers"] = string.Join(",", _servers.EndPoints.Select(e => e.ToString())) },
            (s, configuration) =>
            {
                s.AddBallast(configuration.GetSection("Ballast"));
                s.AddBallastDistributedCache();
                s.AddHybridCache();
                s.AddHealthChecks().AddBallast();
            });
        await host.StartAsync();

        var client = host.Services.GetRequiredService<MemcachedClient>();
        Assert.Same(client, host.Services.GetRequiredService<IMemcachedClient>());
        Assert.Equal(_servers.EndPoints, client.Servers);
        await client.SetAsync("di:client", "from the container");
        Assert.Equal("from the container", await client.GetStringAsync("di:client"));

        var cache = host.Services.GetRequiredService<IDistributedCache>();
        Assert.Same(cache, host.Services.GetRequiredService<IBufferDistributedCache>());
        await cache.SetStringAsync("di:cache", "distributed");
        Assert.Equal("distributed", await cache.GetStringAsync("di:cache"));

        var hybrid = host.Services.GetRequiredService<HybridCache>();
        Assert.Equal(42, await hybrid.GetOrCreateAsync("di:hybrid", _ => ValueTask.FromResult(42)));

        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        Assert.Equal(HealthStatus.Healthy, report.Entries["ballast"].Status);
        await host.StopAsync();
    }

    [Fact]
    public async Task Servers_bind_from_a_list_of_strings_and_of_objects()
    {
        var endPoints = _servers.EndPoints.ToArray();
        using var host = BallastHost.Build(
            new Dictionary<string, string?>
            {
                ["Ballast:Servers:0"] = endPoints[0].ToString(),
                ["Ballast:Servers:1"] = $"{endPoints[1]}:3",
                ["Ballast:Servers:2:Host"] = endPoints[2].Host,
                ["Ballast:Servers:2:Port"] = endPoints[2].Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Ballast:FailoverPolicy"] = "Rehash",
                ["Ballast:FailureDetection:ConsecutiveTimeouts"] = "5",
            },
            (s, configuration) => s.AddBallast(configuration.GetSection("Ballast")));
        await host.StartAsync();

        var client = host.Services.GetRequiredService<MemcachedClient>();
        Assert.Equal(endPoints, client.Servers.Select(e => new ServerEndPoint(e.Host, e.Port)).ToArray());
        Assert.Equal(3, client.Servers[1].Weight);
        Assert.Equal(FailoverPolicy.Rehash, client.Policy);
        await host.StopAsync();
    }

    [Theory]
    [InlineData(null, null, "Ballast:Servers")]
    [InlineData("Ballast:Servers", "127.0.0.1:notaport", "Ballast:Servers")]
    [InlineData("Ballast:ConnectionsPerServer", "0", "Ballast:ConnectionsPerServer")]
    [InlineData("Ballast:OperationTimout", "00:00:01", "OperationTimout")]
    public async Task Bad_configuration_fails_at_start_up_naming_the_setting(string? key, string? value, string named)
    {
        var settings = new Dictionary<string, string?> { ["Ballast:Servers"] = _servers.EndPoints.First().ToString() };
        if (key is null)
        {
            settings.Clear();
            settings["Ballast:OperationTimeout"] = "00:00:01";
        }
        else
        {
            settings[key] = value;
        }

        using var host = BallastHost.Build(settings, (s, configuration) => s.AddBallast(configuration.GetSection("Ballast")));
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Named_clients_are_keyed_services_with_their_own_servers()
    {
        var endPoints = _servers.EndPoints.ToArray();
        using var host = BallastHost.Build(
            new Dictionary<string, string?> { ["Sessions:Servers"] = endPoints[0].ToString() },
            (s, configuration) =>
            {
                s.AddBallast("sessions", configuration.GetSection("Sessions"));
                s.AddBallast("pages", options => options.Servers.Add(endPoints[1]));
                s.AddHealthChecks().AddBallast("sessions");
            });
        await host.StartAsync();

        var sessions = host.Services.GetRequiredKeyedService<MemcachedClient>("sessions");
        var pages = host.Services.GetRequiredKeyedService<IMemcachedClient>("pages");
        Assert.Equal([endPoints[0]], sessions.Servers);
        Assert.Equal([endPoints[1]], pages.Servers);
        Assert.Null(host.Services.GetService<MemcachedClient>());
        await sessions.SetAsync("named", "s");
        Assert.Null(await pages.GetStringAsync("named"));
        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        Assert.Equal(HealthStatus.Healthy, report.Entries["ballast-sessions"].Status);
        await host.StopAsync();
    }

    [Fact]
    public async Task The_host_disposes_the_client()
    {
        var host = BallastHost.Build(
            new Dictionary<string, string?> { ["Ballast:Servers"] = _servers.EndPoints.First().ToString() },
            (s, configuration) => s.AddBallast(configuration.GetSection("Ballast")));
        await host.StartAsync();
        var client = host.Services.GetRequiredService<MemcachedClient>();
        await host.StopAsync();
        host.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await client.GetAsync("after-dispose"));
    }

    [Fact]
    public async Task The_distributed_caches_options_bind_from_configuration()
    {
        using var host = BallastHost.Build(
            new Dictionary<string, string?>
            {
                ["Ballast:Servers"] = string.Join(",", _servers.EndPoints.Select(e => e.ToString())),
                ["Ballast:SharedView:Bound"] = "00:00:10",
                ["Sessions:Servers"] = string.Join(",", _servers.EndPoints.Select(e => e.ToString())),
                ["Sessions:SharedView:Bound"] = "00:00:10",
                ["DistributedCache:KeyPrefix"] = "bound:",
                ["DistributedCache:ClientName"] = "sessions",
            },
            (s, configuration) =>
            {
                s.AddBallast(configuration.GetSection("Ballast"));
                s.AddBallast("sessions", configuration.GetSection("Sessions"));
                s.AddBallastDistributedCache(configuration.GetSection("DistributedCache"));
            });
        await host.StartAsync();

        var cache = host.Services.GetRequiredService<IDistributedCache>();
        await cache.SetStringAsync("from-config", "prefixed");
        var sessions = host.Services.GetRequiredKeyedService<MemcachedClient>("sessions");
        Assert.True((await sessions.GetAsync("bound:from-config")).IsHit);
        Assert.False((await sessions.GetAsync("from-config")).IsHit);
        Assert.Equal("bound:", host.Services.GetRequiredService<IOptions<Ballast.Extensions.BallastDistributedCacheOptions>>().Value.KeyPrefix);
        await host.StopAsync();
    }

    [Theory]
    [InlineData("DistributedCache:KeyPrefx", "app:", "KeyPrefx")]
    [InlineData("DistributedCache:KeyPrefix", "has space:", "KeyPrefix")]
    public async Task A_misspelt_or_invalid_distributed_cache_setting_fails_the_start_naming_it(string setting, string value, string named)
    {
        using var host = BallastHost.Build(
            new Dictionary<string, string?>
            {
                ["Ballast:Servers"] = string.Join(",", _servers.EndPoints.Select(e => e.ToString())),
                [setting] = value,
            },
            (s, configuration) =>
            {
                s.AddBallast(configuration.GetSection("Ballast"));
                s.AddBallastDistributedCache(configuration.GetSection("DistributedCache"));
            });
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }
}
