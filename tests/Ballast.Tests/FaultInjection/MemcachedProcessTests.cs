using System.Net.Sockets;
using Ballast.FaultInjection;

namespace Ballast.Tests.FaultInjection;

public sealed class MemcachedProcessTests
{
    [Fact]
    public async Task Starts_on_a_free_loopback_port_serves_and_stops_on_dispose()
    {
        int port;
        await using (var server = await MemcachedProcess.StartAsync())
        {
            port = server.Port;
            Assert.True(server.IsRunning);
            Assert.Equal("127.0.0.1", server.Host);
            Assert.InRange(port, 1, 65535);
            Assert.Equal($"127.0.0.1:{port}", server.EndPoint);
            Assert.True(server.Pid > 0);

            using var client = await TextClient.ConnectAsync(server.Host, server.Port);
            Assert.StartsWith("VERSION ", await client.RequestAsync("version\r\n"));
            Assert.Equal("STORED", await client.RequestAsync("set k 0 0 1\r\nx\r\n"));
            Assert.Equal("VALUE k 0 1", await client.RequestAsync("get k\r\n"));
            Assert.Equal("x", await client.ReadLineAsync());
            Assert.Equal("END", await client.ReadLineAsync());

            await server.DisposeAsync();
            Assert.False(server.IsRunning);
        }

        await AssertRefusedAsync(port);
    }

    [Fact]
    public async Task Two_servers_get_different_ports()
    {
        await using var first = await MemcachedProcess.StartAsync();
        await using var second = await MemcachedProcess.StartAsync(new MemcachedProcessOptions { MemoryMegabytes = 16, Threads = 1, MaxItemSize = 2 * 1024 * 1024 });
        Assert.NotEqual(first.Port, second.Port);
        using var client = await TextClient.ConnectAsync(second.Host, second.Port);
        Assert.StartsWith("VERSION ", await client.RequestAsync("version\r\n"));
    }

    [Fact]
    public async Task Kill_makes_connects_fail_with_refused()
    {
        await using var server = await MemcachedProcess.StartAsync();
        server.Kill();
        Assert.False(server.IsRunning);
        await AssertRefusedAsync(server.Port);
        server.Kill(); // a second kill is a no-op
    }

    [Fact]
    public async Task Restart_comes_back_empty_on_the_same_port()
    {
        await using var server = await MemcachedProcess.StartAsync();
        var port = server.Port;
        var oldPid = server.Pid;
        using (var client = await TextClient.ConnectAsync(server.Host, port))
        {
            Assert.Equal("STORED", await client.RequestAsync("set k 0 0 1\r\nx\r\n"));
        }

        await server.RestartAsync();

        Assert.True(server.IsRunning);
        Assert.Equal(port, server.Port);
        Assert.NotEqual(oldPid, server.Pid);
        using var again = await TextClient.ConnectAsync(server.Host, port);
        Assert.Equal("END", await again.RequestAsync("get k\r\n"));
        Assert.Equal("STORED", await again.RequestAsync("set k 0 0 1\r\ny\r\n"));
    }

    [Fact]
    public async Task Restart_after_kill_starts_it_again()
    {
        await using var server = await MemcachedProcess.StartAsync();
        server.Kill();
        await server.RestartAsync();
        using var client = await TextClient.ConnectAsync(server.Host, server.Port);
        Assert.StartsWith("VERSION ", await client.RequestAsync("version\r\n"));
    }

    [Fact]
    public async Task Pause_holds_requests_until_resume()
    {
        await using var server = await MemcachedProcess.StartAsync();
        using var client = await TextClient.ConnectAsync(server.Host, server.Port);
        Assert.StartsWith("VERSION ", await client.RequestAsync("version\r\n"));

        server.Pause();
        Assert.True(server.IsPaused);
        Assert.True(server.IsRunning);
        await client.SendAsync("version\r\n");
        Assert.True(await client.StaysSilentForAsync(TimeSpan.FromMilliseconds(300)), "a paused server answered");

        server.Resume();
        Assert.False(server.IsPaused);
        Assert.StartsWith("VERSION ", await client.ReadLineAsync());
    }

    [Fact]
    public async Task Dispose_of_a_paused_server_kills_it()
    {
        var server = await MemcachedProcess.StartAsync();
        var port = server.Port;
        server.Pause();
        server.Dispose();
        server.Dispose();
        Assert.False(server.IsRunning);
        await AssertRefusedAsync(port);
    }

    [Fact]
    public async Task A_failed_start_reports_memcacheds_own_words()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            MemcachedProcess.StartAsync(new MemcachedProcessOptions { ExtraArguments = ["--no-such-option-here"] }));
        Assert.Contains("no-such-option-here", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_executable_is_reported()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            MemcachedProcess.StartAsync(new MemcachedProcessOptions { ExecutablePath = "memcached-that-does-not-exist" }));
        Assert.Contains("memcached-that-does-not-exist", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_taken_port_is_reported()
    {
        using var squatter = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        squatter.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        squatter.Listen();
        var port = ((System.Net.IPEndPoint)squatter.LocalEndPoint!).Port;

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            MemcachedProcess.StartAsync(new MemcachedProcessOptions { Port = port }));
        Assert.Contains("Address already in use", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("10.1.2.3")]
    public async Task Non_loopback_addresses_are_refused(string address)
    {
        await Assert.ThrowsAsync<ArgumentException>(() =>
            MemcachedProcess.StartAsync(new MemcachedProcessOptions { BindAddress = address }));
    }

    internal static async Task AssertRefusedAsync(int port)
    {
        var error = await Assert.ThrowsAsync<SocketException>(() => TextClient.ConnectAsync("127.0.0.1", port));
        Assert.Equal(SocketError.ConnectionRefused, error.SocketErrorCode);
    }
}
