using Ballast.Tests.Support;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Ballast.FaultInjection;

namespace Ballast.Tests.FaultInjection;

public sealed class FaultProxyTests
{
    private static readonly TimeSpan Silence = TimeSpan.FromMilliseconds(300);

    [Fact]
    public async Task Pass_forwards_both_ways_and_counts()
    {
        await using var server = await MemcachedProcess.StartAsync();
        await using var proxy = FaultProxy.Start(server.Host, server.Port);
        Assert.Equal(ProxyFaultMode.Pass, proxy.Mode);
        Assert.Equal($"127.0.0.1:{proxy.Port}", proxy.EndPoint);
        Assert.Equal(server.EndPoint, proxy.TargetEndPoint);
        Assert.NotEqual(server.Port, proxy.Port);

        using var client = await TextClient.ConnectAsync(proxy.Host, proxy.Port);
        Assert.Equal("STORED", await client.RequestAsync("set k 0 0 1\r\nx\r\n"));
        using var direct = await TextClient.ConnectAsync(server.Host, server.Port);
        Assert.Equal("VALUE k 0 1", await direct.RequestAsync("get k\r\n"));

        // The proxy counts a chunk once its send returned, which can be just after the client read it: bounded wait.
        var expected = "set k 0 0 1\r\nx\r\n".Length + "STORED\r\n".Length;
        for (var i = 0; i < 200 && proxy.BytesForwarded < expected; i++)
        {
            await Task.Delay(10);
        }

        Assert.Equal(1, proxy.ConnectionsAccepted);
        Assert.Equal(1, proxy.ActiveConnections);
        Assert.Equal(expected, proxy.BytesForwarded);
        Assert.Equal(0, proxy.BytesDropped);
    }

    [Fact]
    public async Task Large_values_pass_intact_in_pass_and_latency_modes()
    {
        await using var server = await MemcachedProcess.StartAsync(new MemcachedProcessOptions { MaxItemSize = 2 * 1024 * 1024 });
        await using var proxy = FaultProxy.Start(server.Host, server.Port);
        using var client = await TextClient.ConnectAsync(proxy.Host, proxy.Port);
        var value = new byte[1024 * 1024];
        new Random(42).NextBytes(value);

        foreach (var mode in new[] { ProxyFaultMode.Pass, ProxyFaultMode.Latency })
        {
            proxy.SetMode(mode, TimeSpan.FromMilliseconds(5));
            await client.SendAsync(Encoding.ASCII.GetBytes($"set big 0 0 {value.Length}\r\n").Concat(value).Concat("\r\n"u8.ToArray()).ToArray());
            Assert.Equal("STORED", await client.ReadLineAsync());
            Assert.Equal($"VALUE big 0 {value.Length}", await client.RequestAsync("get big\r\n"));
            Assert.Equal(value, await client.ReadExactAsync(value.Length));
            Assert.Equal("", await client.ReadLineAsync());
            Assert.Equal("END", await client.ReadLineAsync());
        }
    }

    [Fact]
    public async Task Blackhole_drops_silently_without_reset_and_pass_resumes_the_same_connection()
    {
        await using var server = await MemcachedProcess.StartAsync();
        await using var proxy = FaultProxy.Start(server.Host, server.Port);
        using var client = await TextClient.ConnectAsync(proxy.Host, proxy.Port);
        Assert.StartsWith("VERSION ", await client.RequestAsync("version\r\n"));

        proxy.SetMode(ProxyFaultMode.Blackhole);
        await client.SendAsync("set k 0 0 1\r\nx\r\n");
        Assert.True(await TextClient.EventuallyAsync(() => proxy.BytesDropped == "set k 0 0 1\r\nx\r\n".Length), $"dropped {proxy.BytesDropped} bytes");
        Assert.True(await client.StaysSilentForAsync(Silence), "a blackholed link answered, closed or reset");

        // Only the proxied link is cut: a direct client still reaches the server, which never saw the set.
        using (var direct = await TextClient.ConnectAsync(server.Host, server.Port))
        {
            Assert.Equal("END", await direct.RequestAsync("get k\r\n"));
        }

        // New connections are accepted and then hang as well.
        using (var late = await TextClient.ConnectAsync(proxy.Host, proxy.Port))
        {
            await late.SendAsync("version\r\n");
            Assert.True(await late.StaysSilentForAsync(TimeSpan.FromMilliseconds(100)));
        }

        proxy.SetMode(ProxyFaultMode.Pass);
        Assert.StartsWith("VERSION ", await client.RequestAsync("version\r\n"));
        Assert.Equal("END", await client.RequestAsync("get k\r\n"));
    }

    [Fact]
    public async Task Blackhole_in_front_of_a_dead_server_hangs_then_resets_when_the_partition_ends()
    {
        await using var server = await MemcachedProcess.StartAsync();
        await using var proxy = FaultProxy.Start(server.Host, server.Port);
        server.Kill();
        proxy.SetMode(ProxyFaultMode.Blackhole);

        using var client = await TextClient.ConnectAsync(proxy.Host, proxy.Port);
        await client.SendAsync("version\r\n");
        Assert.True(await TextClient.EventuallyAsync(() => proxy.BytesDropped == "version\r\n".Length));
        Assert.True(await client.StaysSilentForAsync(Silence));

        proxy.SetMode(ProxyFaultMode.Pass);
        await AssertResetOrEndAsync(client);
    }

    [Fact]
    public async Task Reset_aborts_open_connections_and_every_new_one()
    {
        await using var server = await MemcachedProcess.StartAsync();
        await using var proxy = FaultProxy.Start(server.Host, server.Port);
        using var open = await TextClient.ConnectAsync(proxy.Host, proxy.Port);
        Assert.StartsWith("VERSION ", await open.RequestAsync("version\r\n"));

        proxy.SetMode(ProxyFaultMode.Reset);
        var error = await Assert.ThrowsAsync<SocketException>(() => open.ReadLineAsync());
        Assert.Equal(SocketError.ConnectionReset, error.SocketErrorCode);

        // A new connection is reset at once: the client sees it on its first read, or already while connecting.
        await AssertResetOrEndAsync(async () =>
        {
            using var fresh = await TextClient.ConnectAsync(proxy.Host, proxy.Port);
            return await fresh.ReadLineAsync();
        });

        proxy.SetMode(ProxyFaultMode.Pass);
        using var after = await TextClient.ConnectAsync(proxy.Host, proxy.Port);
        Assert.StartsWith("VERSION ", await after.RequestAsync("version\r\n"));
    }

    [Fact]
    public async Task Latency_delays_each_answer()
    {
        await using var server = await MemcachedProcess.StartAsync();
        await using var proxy = FaultProxy.Start(server.Host, server.Port);
        using var client = await TextClient.ConnectAsync(proxy.Host, proxy.Port);
        Assert.StartsWith("VERSION ", await client.RequestAsync("version\r\n"));

        proxy.SetMode(ProxyFaultMode.Latency, TimeSpan.FromMilliseconds(200));
        Assert.Equal(TimeSpan.FromMilliseconds(200), proxy.Latency);
        var clock = Stopwatch.StartNew();
        Assert.StartsWith("VERSION ", await client.RequestAsync("version\r\n"));
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(200), $"answered after {clock.Elapsed.TotalMilliseconds} ms");

        // Pipelined requests keep their order through the delay queue.
        await client.SendAsync("set a 0 0 1\r\n1\r\nset b 0 0 1\r\n2\r\nget a b\r\n");
        Assert.Equal("STORED", await client.ReadLineAsync());
        Assert.Equal("STORED", await client.ReadLineAsync());
        Assert.Equal("VALUE a 0 1", await client.ReadLineAsync());
        Assert.Equal("1", await client.ReadLineAsync());
        Assert.Equal("VALUE b 0 1", await client.ReadLineAsync());
        Assert.Equal("2", await client.ReadLineAsync());
        Assert.Equal("END", await client.ReadLineAsync());
    }

    [Fact]
    public async Task Flap_alternates_on_the_given_clock_and_ends_in_pass()
    {
        var clock = new ManualTimeProvider();
        await using var server = await MemcachedProcess.StartAsync();
        await using var proxy = FaultProxy.Start(server.Host, server.Port, timeProvider: clock);

        var flapping = proxy.FlapAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), ProxyFaultMode.Blackhole, CancellationToken.None);
        Assert.Equal(ProxyFaultMode.Blackhole, proxy.Mode);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await TextClient.EventuallyAsync(() => proxy.Mode == ProxyFaultMode.Pass));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await TextClient.EventuallyAsync(() => proxy.Mode == ProxyFaultMode.Blackhole));
        Assert.False(flapping.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(1));

        await flapping.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(ProxyFaultMode.Pass, proxy.Mode);
        using var client = await TextClient.ConnectAsync(proxy.Host, proxy.Port);
        Assert.StartsWith("VERSION ", await client.RequestAsync("version\r\n"));
    }

    [Fact]
    public async Task Flap_in_real_time_ends_in_pass()
    {
        await using var server = await MemcachedProcess.StartAsync();
        await using var proxy = FaultProxy.Start(server.Host, server.Port);
        var clock = Stopwatch.StartNew();
        await proxy.FlapAsync(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(300), ProxyFaultMode.Reset, CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(5));
        // Timers may fire a little early against the stopwatch: allow their granularity, not more.
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(280), $"flapped for {clock.Elapsed.TotalMilliseconds} ms only");
        Assert.Equal(ProxyFaultMode.Pass, proxy.Mode);
        using var client = await TextClient.ConnectAsync(proxy.Host, proxy.Port);
        Assert.StartsWith("VERSION ", await client.RequestAsync("version\r\n"));
    }

    [Fact]
    public async Task Latency_follows_the_given_clock()
    {
        var clock = new ManualTimeProvider();
        await using var server = await MemcachedProcess.StartAsync();
        await using var proxy = FaultProxy.Start(server.Host, server.Port, timeProvider: clock);
        proxy.SetMode(ProxyFaultMode.Latency, TimeSpan.FromSeconds(10));
        using var client = await TextClient.ConnectAsync(proxy.Host, proxy.Port);
        await client.SendAsync("version\r\n");
        Assert.True(await client.StaysSilentForAsync(Silence), "answered before the clock moved");
        Assert.Equal(0, proxy.BytesForwarded);

        // The request waits 10 s on the fake clock, then the answer does; advance until it arrives (bounded).
        string? answer = null;
        for (var i = 0; i < 20 && answer is null; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(10));
            try
            {
                answer = await client.ReadLineAsync(TimeSpan.FromMilliseconds(100));
            }
            catch (TimeoutException)
            {
            }
        }

        Assert.StartsWith("VERSION ", answer);
    }

    [Fact]
    public async Task Cancelled_flap_still_ends_in_pass()
    {
        await using var server = await MemcachedProcess.StartAsync();
        await using var proxy = FaultProxy.Start(server.Host, server.Port);
        using var cts = new CancellationTokenSource();
        var flapping = proxy.FlapAsync(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(60), ProxyFaultMode.Reset, cts.Token);
        Assert.Equal(ProxyFaultMode.Reset, proxy.Mode);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => flapping);
        Assert.Equal(ProxyFaultMode.Pass, proxy.Mode);
    }

    [Fact]
    public async Task Dispose_closes_connections_and_the_port_and_can_be_repeated()
    {
        await using var server = await MemcachedProcess.StartAsync();
        var proxy = FaultProxy.Start(server.Host, server.Port);
        using var client = await TextClient.ConnectAsync(proxy.Host, proxy.Port);
        Assert.StartsWith("VERSION ", await client.RequestAsync("version\r\n"));

        await proxy.DisposeAsync();
        await proxy.DisposeAsync();

        // (Whether the port is refused afterwards is not checked: tests run in parallel, and another test's server or
        // proxy may be handed the freed port at once.) Closing may reach the client as an end of stream or a reset.
        await AssertResetOrEndAsync(client);
        Assert.Equal(0, proxy.ActiveConnections);
    }

    [Fact]
    public void Non_loopback_targets_and_listen_addresses_are_refused()
    {
        Assert.Throws<ArgumentException>(() => FaultProxy.Start("10.1.2.3", 11211));
        Assert.Throws<ArgumentException>(() => FaultProxy.Start("127.0.0.1", 11211, "0.0.0.0"));
    }

    private static Task AssertResetOrEndAsync(TextClient client) => AssertResetOrEndAsync(() => client.ReadLineAsync());

    private static async Task AssertResetOrEndAsync(Func<Task<string?>> read)
    {
        try
        {
            Assert.Null(await read());
        }
        catch (SocketException e)
        {
            Assert.Equal(SocketError.ConnectionReset, e.SocketErrorCode);
        }
    }
}
