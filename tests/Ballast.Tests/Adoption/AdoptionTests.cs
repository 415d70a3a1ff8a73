using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Ballast.Cli.Monitor;
using Ballast.Pool;
using Ballast.Tests.Cli;
using Ballast.Tests.FaultInjection;
using Ballast.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ballast.Tests.Adoption;

/// <summary>
/// Adopting Ballast must not empty a warm cache: after <c>ballast view init</c>, a monitor and application frontends
/// start without a flush; without it the first frontend flushes every server once and says so; and the one-shot
/// commands never flush nor write view records. Against real memcached, counted by memcached's own <c>cmd_flush</c>.
/// </summary>
public sealed class AdoptionTests
{
    private const int WarmKeys = 200;

    [Fact]
    public async Task A_warm_pool_adopted_with_view_init_keeps_every_key_through_a_monitor_and_two_frontends()
    {
        await using var servers = await MemcachedServers.StartAsync(3);
        await WarmAsync(servers);

        var init = await CliHarness.RunAsync("view", "init", "--servers", ServerList(servers));
        Assert.True(init.ExitCode == 0, init.Error);
        Assert.Contains("nothing flushed", init.Text, StringComparison.Ordinal);

        await using var monitor = await StartMonitorAsync(servers);
        var flushed = new ConcurrentQueue<ServerFlushedEventArgs>();
        await using var a = Frontend(servers, flushed);
        await using var b = Frontend(servers, flushed);
        await WaitUntilServingAsync(a, servers);
        await WaitUntilServingAsync(b, servers);

        Assert.All(await FlushCountsAsync(servers), count => Assert.Equal(0, count));
        Assert.Empty(flushed);
        foreach (var client in new[] { a, b })
        {
            var hits = 0;
            for (var i = 0; i < WarmKeys; i++)
            {
                hits += (await client.GetAsync($"warm{i}")).IsHit ? 1 : 0;
            }

            Assert.Equal(WarmKeys, hits);
        }

        // A second init is refused: the pool's records decide now.
        var again = await CliHarness.RunAsync("view", "init", "--servers", ServerList(servers));
        CliHarness.AssertOneLineError(again, 1, "already has shared-view records");
    }

    /// <summary>The control: without the init, the first frontend flushes every server once, and says so (event, log, count).</summary>
    [Fact]
    public async Task Without_view_init_the_first_frontend_flushes_every_server_once_and_says_so()
    {
        await using var servers = await MemcachedServers.StartAsync(3);
        await WarmAsync(servers);
        var flushed = new ConcurrentQueue<ServerFlushedEventArgs>();
        await using var a = Frontend(servers, flushed);
        await WaitUntilServingAsync(a, servers);

        Assert.All(await FlushCountsAsync(servers), count => Assert.Equal(1, count));
        Assert.True(await TextClient.EventuallyAsync(() => flushed.Count == 3, TimeSpan.FromSeconds(5)), $"flush events: {flushed.Count}");
        Assert.All(flushed, e => Assert.Equal(ServerFlushReason.NewPool, e.Reason));
        Assert.False((await a.GetAsync("warm0")).IsHit);
    }

    [Fact]
    public async Task One_shot_commands_never_flush_nor_write_view_records()
    {
        await using var servers = await MemcachedServers.StartAsync(3);
        await WarmAsync(servers);
        var list = ServerList(servers);
        Assert.Equal(0, (await CliHarness.RunAsync("get", "warm1", "--servers", list)).ExitCode);
        Assert.Equal(0, (await CliHarness.RunAsync("set", "fresh", "v", "--servers", list)).ExitCode);
        Assert.Equal(0, (await CliHarness.RunAsync("delete", "warm2", "--servers", list)).ExitCode);
        Assert.Equal(0, (await CliHarness.RunAsync("stats", "--servers", list)).ExitCode);
        Assert.Equal(0, (await CliHarness.RunAsync("locate", "warm3", "--servers", list)).ExitCode);
        Assert.Equal(0, (await CliHarness.RunAsync("view", "show", "--servers", list)).ExitCode);

        Assert.All(await FlushCountsAsync(servers), count => Assert.Equal(0, count));
        var options = servers.Options();
        var pool = PoolIdentity.For(options, "x").PoolName;
        for (var s = 0; s < 3; s++)
        {
            using var raw = await TextClient.ConnectAsync(servers[s].Host, servers[s].Port);
            for (var record = 0; record < 3; record++)
            {
                Assert.Equal("END", await raw.RequestAsync($"get ballast:{pool}:view:{record}\r\n"));
            }

            Assert.Equal("END", await raw.RequestAsync($"get ballast:{pool}:recovery\r\n"));
        }
    }

    private static MemcachedClient Frontend(MemcachedServers servers, ConcurrentQueue<ServerFlushedEventArgs> flushed)
    {
        var client = new MemcachedClient(servers.Options(o => o.SharedView.Bound = TimeSpan.FromSeconds(1)));
        client.ServerFlushed += (_, e) => flushed.Enqueue(e);
        return client;
    }

    private static async Task<MonitorHost> StartMonitorAsync(MemcachedServers servers)
    {
        var options = new MemcachedClientOptions();
        foreach (var endPoint in servers.EndPoints)
        {
            options.Servers.Add(endPoint);
        }

        MonitorSettings.ConfigureClient(options, timeoutGiven: false);
        var monitor = MonitorHost.Create(new MonitorSettings { Listen = new IPEndPoint(IPAddress.Loopback, 0), Client = options, LoggerFactory = NullLoggerFactory.Instance }, "memcached");
        await monitor.StartAsync(CancellationToken.None);
        return monitor;
    }

    private static async Task WaitUntilServingAsync(MemcachedClient client, MemcachedServers servers)
        => Assert.True(
            await TextClient.EventuallyAsync(() => client.IsSharedViewFresh && servers.EndPoints.All(e => client.GetServerState(e) == ServerState.Up), TimeSpan.FromSeconds(10)),
            "the frontend did not come up with every server up and a fresh view");

    private static async Task WarmAsync(MemcachedServers servers)
    {
        // Written as the application's old client placed them (the pool's distribution), straight to each server.
        var options = servers.Options();
        options.SharedView.Enabled = false;
        await using var plain = new MemcachedClient(options);
        for (var i = 0; i < WarmKeys; i++)
        {
            Assert.True((await plain.SetAsync($"warm{i}", $"v{i}")).IsStored);
        }
    }

    private static async Task<long[]> FlushCountsAsync(MemcachedServers servers)
    {
        var counts = new long[servers.Processes.Count];
        for (var s = 0; s < counts.Length; s++)
        {
            using var raw = await TextClient.ConnectAsync(servers[s].Host, servers[s].Port);
            await raw.SendAsync("stats\r\n");
            while (await raw.ReadLineAsync() is { } line && line != "END")
            {
                if (line.StartsWith("STAT cmd_flush ", StringComparison.Ordinal))
                {
                    counts[s] = long.Parse(line["STAT cmd_flush ".Length..], CultureInfo.InvariantCulture);
                }
            }
        }

        return counts;
    }

    private static string ServerList(MemcachedServers servers) => string.Join(",", servers.EndPoints);
}
