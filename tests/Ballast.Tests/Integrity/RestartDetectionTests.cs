using System.Collections.Concurrent;
using Ballast.Pool;
using Ballast.Protocol.Commands;
using Ballast.Tests.Support;

namespace Ballast.Tests.Integrity;

/// <summary>
/// A server that restarted between two of a frontend's connections, with no reset or refusal seen (its old connection
/// was closed after a timeout below the detector's threshold), is empty: a counter on it would start again and hand
/// out numbers it already gave. The new connection's <c>stats</c>, sent ahead of its first request, tells the lives
/// apart (simulator seed offline 12003512 found the path).
/// </summary>
public sealed class RestartDetectionTests
{
    [Fact]
    public async Task A_counter_is_not_handed_out_again_by_a_server_that_restarted_behind_a_timeout()
    {
        await using var servers = await MemcachedServers.StartAsync(1);
        var failures = new ConcurrentQueue<ServerFailedEventArgs>();
        await using var client = new MemcachedClient(RestartOptions(servers, detectRestarts: true));
        client.ServerFailed += (_, e) => failures.Enqueue(e);

        var handedOut = await CountThreeThenRestartBehindATimeoutAsync(client, servers[0]);

        var error = await Assert.ThrowsAsync<ServerUnavailableException>(async () => await client.IncrementAsync("uid", 1, initial: 1));
        Assert.Contains("restarted", error.Message, StringComparison.Ordinal);
        Assert.Contains(servers[0].EndPoint, error.Message, StringComparison.Ordinal);
        Assert.Contains($"pid {servers[0].Pid}", error.Message, StringComparison.Ordinal);
        Assert.Equal([1UL, 2UL, 3UL], handedOut);

        Assert.True(await IntegrityHarness.WaitUntilAsync(() => failures.Any(f => f.Reason == ServerFailureReason.Restarted), TimeSpan.FromSeconds(5)));
        Assert.Equal(ServerState.Down, client.GetServerState(servers.EndPoints.Single()));
        await Assert.ThrowsAsync<ServerUnavailableException>(async () => await client.IncrementAsync("uid", 1, initial: 1));
    }

    [Fact]
    public async Task Control_without_the_check_the_restarted_server_hands_the_first_number_out_again()
    {
        // What the check above prevents, shown on the same schedule: the counter starts again at its initial value.
        await using var servers = await MemcachedServers.StartAsync(1);
        await using var client = new MemcachedClient(RestartOptions(servers, detectRestarts: false));

        var handedOut = await CountThreeThenRestartBehindATimeoutAsync(client, servers[0]);

        var again = await client.IncrementAsync("uid", 1, initial: 1);
        Assert.Contains(again.Value, handedOut);
        Assert.Equal(ServerState.Up, client.GetServerState(servers.EndPoints.Single()));
    }

    [Fact]
    public async Task A_new_connection_to_another_life_of_the_server_fails_its_requests_and_marks_the_server_down()
    {
        // The first request's answer comes after the timeout (its connection is closed, one timeout of three); the
        // server then "restarts" (a new pid in stats); the next request opens a connection that reaches the new life.
        await using var server = MisbehavingServer.FirstThenEcho(request => new MisbehavingServer.Reply(MisbehavingServer.Echo(request), Delay: TimeSpan.FromMilliseconds(600)));
        var options = server.ClientOptions(TimeSpan.FromMilliseconds(200));
        var failures = new ConcurrentQueue<ServerFailedEventArgs>();
        await using var client = new MemcachedClient(options);
        client.ServerFailed += (_, e) => failures.Enqueue(e);

        await Assert.ThrowsAsync<MemcachedTimeoutException>(async () => await client.GetFromHomeServerAsync("first"));
        Assert.Equal(ServerState.Up, client.GetServerState(server.EndPoint));
        server.ProcessId = 4343;

        var error = await Assert.ThrowsAsync<ServerUnavailableException>(async () => await client.GetFromHomeServerAsync("second"));
        Assert.Contains("restarted", error.Message, StringComparison.Ordinal);
        Assert.Contains("'second'", error.Message, StringComparison.Ordinal);
        Assert.Contains("pid 4242", error.Message, StringComparison.Ordinal);
        Assert.Contains("pid 4343", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, server.StatsAnswered);
        Assert.True(await IntegrityHarness.WaitUntilAsync(() => failures.Any(f => f.Reason == ServerFailureReason.Restarted && f.Server == server.EndPoint), TimeSpan.FromSeconds(5)));
        Assert.Equal(ServerState.Down, client.GetServerState(server.EndPoint));

        // A read under the same fault is a miss, never a value from the new life.
        Assert.False((await client.GetAsync("third")).IsHit);
    }

    [Fact]
    public async Task The_same_life_on_a_new_connection_is_no_restart_and_the_check_can_be_turned_off()
    {
        await using var server = MisbehavingServer.FirstThenEcho(request => new MisbehavingServer.Reply(MisbehavingServer.Echo(request), Delay: TimeSpan.FromMilliseconds(600)));
        await using (var client = new MemcachedClient(server.ClientOptions(TimeSpan.FromMilliseconds(200))))
        {
            await Assert.ThrowsAsync<MemcachedTimeoutException>(async () => await client.GetFromHomeServerAsync("first"));
            Assert.Equal("second", await client.GetStringAsync("second"));
            Assert.Equal(2, server.StatsAnswered);
        }

        var off = server.ClientOptions(TimeSpan.FromMilliseconds(200));
        off.FailureDetection.DetectRestarts = false;
        server.ProcessId = 5555;
        await using (var client = new MemcachedClient(off))
        {
            Assert.Equal("third", await client.GetStringAsync("third"));
        }

        Assert.Equal(2, server.StatsAnswered);
    }

    [Fact]
    public async Task A_readmission_forgets_the_life_it_knew_so_the_next_connection_to_the_new_one_is_no_restart()
    {
        // A frontend that learns of an outage and its readmission from the view alone never connected to the new life
        // in between: its next connection reaches it, and must not take the restart the outage was about for a new one.
        await using var server = new MisbehavingServer(request => new MisbehavingServer.Reply(MisbehavingServer.Echo(request)));
        var options = server.ClientOptions(TimeSpan.FromSeconds(2));
        var failures = new ConcurrentQueue<ServerFailureReason>();
        await using var node = new ServerNode(0, server.EndPoint, options, TimeProvider.System, (_, reason, _) => failures.Enqueue(reason));
        await node.ExecuteAsync(TextCommand.Version(), CancellationToken.None);

        server.ProcessId = 4343;
        node.RetireConnectionsOpenedBefore(TimeProvider.System.GetTimestamp());
        node.ForgetServerStart();
        await node.ExecuteAsync(TextCommand.Version(), CancellationToken.None);
        Assert.Empty(failures);
        Assert.False(node.Health.IsDown);

        // Without a readmission in between, the next life is a restart.
        server.ProcessId = 4444;
        node.RetireConnectionsOpenedBefore(TimeProvider.System.GetTimestamp());
        await Assert.ThrowsAsync<ServerUnavailableException>(async () => await node.ExecuteAsync(TextCommand.Version(), CancellationToken.None));
        Assert.Equal([ServerFailureReason.Restarted], failures);
        Assert.True(node.Health.IsDown);
        Assert.Equal(3, server.StatsAnswered);
    }

    [Fact]
    public void A_start_is_read_from_pid_and_time_minus_uptime_and_an_answer_without_them_has_none()
    {
        var start = ServerStart.From(new Dictionary<string, string> { ["pid"] = "14243", ["uptime"] = "5", ["time"] = "1796637175" });
        Assert.Equal(new ServerStart(14243, 1796637170), start);
        Assert.Equal(start, ServerStart.From(new Dictionary<string, string> { ["pid"] = "14243", ["uptime"] = "7", ["time"] = "1796637177" }));
        Assert.NotEqual(start, ServerStart.From(new Dictionary<string, string> { ["pid"] = "14244", ["uptime"] = "5", ["time"] = "1796637175" }));
        Assert.Null(ServerStart.From(new Dictionary<string, string> { ["uptime"] = "5", ["time"] = "1796637175" }));
        Assert.Null(ServerStart.From(new Dictionary<string, string> { ["pid"] = "1", ["time"] = "1796637175" }));
        Assert.Null(ServerStart.From(new Dictionary<string, string> { ["pid"] = "-1", ["uptime"] = "5", ["time"] = "1796637175" }));
    }

    /// <summary>
    /// One connection, a detector that a single timeout does not trip and no shared view (nothing else may notice the
    /// restart): only the check on the new connection can.
    /// </summary>
    private static MemcachedClientOptions RestartOptions(MemcachedServers servers, bool detectRestarts)
        => servers.Options(o =>
        {
            o.ConnectionsPerServer = 1;
            o.OperationTimeout = TimeSpan.FromMilliseconds(300);
            o.FailureDetection.ConsecutiveTimeouts = 10;
            o.FailureDetection.DetectRestarts = detectRestarts;
            o.SharedView.Enabled = false;
        });

    /// <summary>Hands out 1, 2 and 3; pauses the server so one read times out (its connection closed); restarts it.</summary>
    private static async Task<List<ulong>> CountThreeThenRestartBehindATimeoutAsync(MemcachedClient client, Ballast.FaultInjection.MemcachedProcess server)
    {
        var handedOut = new List<ulong>();
        for (var i = 0; i < 3; i++)
        {
            handedOut.Add((await client.IncrementAsync("uid", 1, initial: 1)).Value);
        }

        server.Pause();
        await Assert.ThrowsAsync<MemcachedTimeoutException>(async () => await client.GetFromHomeServerAsync("uid-probe"));
        await server.RestartAsync();
        return handedOut;
    }
}
