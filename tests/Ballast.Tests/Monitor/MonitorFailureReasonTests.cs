using System.Diagnostics;
using Ballast.FaultInjection;
using Ballast.Tests.Integrity;
using Microsoft.Playwright;

namespace Ballast.Tests.Monitor;

/// <summary>
/// Outages the monitor did not find by its own timeouts or resets, shown like any other: a server another frontend
/// fenced, which the monitor's client marks down from the shared view (<see cref="ServerFailureReason.SharedView"/>),
/// and a server that restarted with no reset or refusal seen, which the monitor's next connection finds in a new life
/// (<see cref="ServerFailureReason.Restarted"/>). Each must reach the server's entry (reason and detail), the timeline
/// and the page, and be failed back like any outage: flushed once, by the monitor, and shown up. Timed in wall-clock
/// time, so the tests run alone.
/// </summary>
[Collection(WallClockBoundCollection.Name)]
public sealed class MonitorFailureReasonTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_server_another_frontend_fenced_is_shown_down_from_the_shared_view_with_who_fenced_it_and_failed_back_once()
    {
        await using var harness = await MonitorHarness.StartAsync();
        var fenced = harness.EndPoint(1);
        var flushesBefore = await harness.FlushCountAsync(1);

        // Another frontend of the pool, which reaches server 1 through a link of its own; the monitor reaches it directly.
        await using var link = FaultProxy.Start(harness.Servers[1].Host, harness.Servers[1].Port);
        var options = new MemcachedClientOptions { OperationTimeout = TimeSpan.FromMilliseconds(300), ConnectTimeout = TimeSpan.FromSeconds(3) };
        foreach (var endPoint in harness.Servers.EndPoints)
        {
            options.Servers.Add(endPoint);
        }

        options.ConnectVia = server => server.Port == harness.Servers[1].Port ? new ServerEndPoint(link.Host, link.Port) : server;
        await using var other = new MemcachedClient(options);
        Assert.True(
            await IntegrityHarness.WaitUntilAsync(() => other.IsSharedViewFresh && harness.Monitors[0].Monitor.Servers.All(s => other.GetServerState(s) == ServerState.Up), TimeSpan.FromSeconds(10)),
            "the other frontend never had a fresh view with every server up");

        await using var browser = await MonitorBrowser.OpenAsync(harness.Address(0));
        var page = browser.Page;

        // The other frontend's link resets: it marks server 1 down and fences it for the pool. The monitor still
        // reaches the server; only the shared view tells it.
        link.SetMode(ProxyFaultMode.Reset);
        var cut = Stopwatch.StartNew();
        Assert.True(await harness.WaitForStateAsync(0, 1, "down", TimeSpan.FromSeconds(5)), "the server the other frontend fenced was not shown down within 5 s");
        output.WriteLine($"fenced by the other frontend, shown down on /api/status after {cut.Elapsed.TotalMilliseconds:0} ms");

        var expectedDetail = $"fenced by frontend {other.FrontendId}";
        var down = await harness.ServerStatusAsync(0, 1);
        Assert.Equal("SharedView", down.GetProperty("reason").GetString());
        Assert.Equal(expectedDetail, down.GetProperty("detail").GetString());
        var failed = (await harness.EventsAsync(0, 1)).First(e => e.GetProperty("kind").GetString() == "failed");
        Assert.Equal("SharedView", failed.GetProperty("reason").GetString());
        var outageEpoch = failed.GetProperty("epoch").GetInt64();
        var line = $"{fenced} failed (SharedView, epoch {outageEpoch}): {expectedDetail}";
        Assert.Equal(line, failed.GetProperty("text").GetString());

        // The page says the same, without a reload: the timeline's line and the server's card.
        await Assertions.Expect(page.Locator("#timeline li.failed .text", new() { HasText = $"{fenced} failed (SharedView" })).ToHaveTextAsync(line);
        await Assertions.Expect(page.Locator($"article.server[data-server=\"{fenced}\"] .failure")).ToContainTextAsync($"SharedView — {expectedDetail}");

        // The monitor fails it back (it reaches the server): flushed once, by the monitor, after the fence.
        Assert.True(await harness.WaitForStateAsync(0, 1, "up", TimeSpan.FromSeconds(15)), "the fenced server was not shown up again within 15 s");
        link.SetMode(ProxyFaultMode.Pass);
        var events = await harness.EventsAsync(0, 1);
        Assert.Equal(["recovered", "flushed", "failed"], events.Select(e => e.GetProperty("kind").GetString()).Take(3));
        Assert.True(events[0].GetProperty("flushedHere").GetBoolean());
        Assert.True(events[0].GetProperty("epoch").GetInt64() > outageEpoch);
        Assert.Equal(flushesBefore + 1, await harness.FlushCountAsync(1));
    }

    [Fact]
    public async Task A_server_that_restarted_behind_a_timeout_is_shown_down_as_restarted_flushed_once_and_shown_up()
    {
        // A restart the monitor can only find by its new connection's stats: its one connection to the server closes
        // after a timeout (below the detector's threshold), the server restarts while the monitor has no connection
        // open to it (else that connection's reset would tell), and the next connection reaches the new life. So the
        // monitor talks to the server seldom, over one connection, through a link the test cuts and watches: it is the
        // one server of four that gets no view reads, the bound is 8 s (a heartbeat every 2 s), the stats poll comes
        // every 4 s, and five timeouts in a row mark a server down (a request that meets the restart costs one more).
        await using var harness = await MonitorHarness.StartAsync(
            serverCount: 4,
            linked: true,
            configure: o =>
            {
                o.SharedView.Bound = TimeSpan.FromSeconds(8);
                o.ConnectionsPerServer = 1;
                o.FailureDetection.ConsecutiveTimeouts = 5;
            },
            pollInterval: TimeSpan.FromSeconds(4));
        var monitor = harness.Monitors[0].Monitor;
        var server = Assert.Single(Enumerable.Range(0, 4), s => !monitor.Client.ReceivesViewReads(monitor.Servers[s]));
        var restarted = harness.EndPoint(server);
        var link = harness.Links[server];
        var lifeBefore = harness.Servers[server].Pid;
        Assert.True(await IntegrityHarness.WaitUntilAsync(() => link.ActiveConnections > 0, TimeSpan.FromSeconds(5)), "the monitor never connected to the server");

        link.SetMode(ProxyFaultMode.Blackhole);
        var stalled = Stopwatch.StartNew();
        Assert.True(await IntegrityHarness.WaitUntilAsync(() => link.ActiveConnections == 0, TimeSpan.FromSeconds(10)), "the monitor's connection to the server was not closed after a timeout within 10 s");
        output.WriteLine($"the monitor's connection closed after a timeout {stalled.Elapsed.TotalMilliseconds:0} ms into the stall");
        await harness.Servers[server].RestartAsync();
        link.SetMode(ProxyFaultMode.Pass);
        var lifeAfter = harness.Servers[server].Pid;
        Assert.NotEqual(lifeBefore, lifeAfter);

        var back = Stopwatch.StartNew();
        Assert.True(await harness.WaitForStateAsync(0, server, "down", TimeSpan.FromSeconds(10)), "the restarted server was not shown down within 10 s");
        output.WriteLine($"restarted server shown down on /api/status {back.Elapsed.TotalMilliseconds:0} ms after it came back");

        var down = await harness.ServerStatusAsync(0, server);
        var detail = down.GetProperty("detail").GetString();
        Assert.True(down.GetProperty("reason").GetString() == "Restarted", $"shown down for {down.GetProperty("reason")}, not Restarted: {detail}");
        Assert.Contains("restarted", detail, StringComparison.Ordinal);
        Assert.Contains($"pid {lifeBefore}", detail, StringComparison.Ordinal);
        Assert.Contains($"pid {lifeAfter}", detail, StringComparison.Ordinal);
        var failed = (await harness.EventsAsync(0, server)).First(e => e.GetProperty("kind").GetString() == "failed");
        Assert.Equal("Restarted", failed.GetProperty("reason").GetString());
        var outageEpoch = failed.GetProperty("epoch").GetInt64();
        Assert.Equal($"{restarted} failed (Restarted, epoch {outageEpoch}): {detail}", failed.GetProperty("text").GetString());

        // Failed back like any outage: the new life is flushed once, by the monitor, and readmitted at a later epoch.
        Assert.True(await harness.WaitForStateAsync(0, server, "up", TimeSpan.FromSeconds(30)), "the restarted server was not shown up again within 30 s");
        var events = await harness.EventsAsync(0, server);
        Assert.Equal(["recovered", "flushed", "failed"], events.Select(e => e.GetProperty("kind").GetString()).Take(3));
        Assert.True(events[0].GetProperty("flushedHere").GetBoolean());
        Assert.True(events[0].GetProperty("epoch").GetInt64() > outageEpoch);
        Assert.Equal(1, await harness.FlushCountAsync(server));
    }
}
