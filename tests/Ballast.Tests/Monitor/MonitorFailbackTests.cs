using System.Diagnostics;
using Ballast.FaultInjection;
using Ballast.Tests.Integrity;

namespace Ballast.Tests.Monitor;

/// <summary>
/// Issue 13's promise with no application running: the monitor alone sees a stalled server, fences it, flushes it
/// exactly once when it returns and readmits it, and two monitors at once still flush it once. Timed in wall-clock
/// time, so the tests run alone (a CPU-heavy neighbour would measure the neighbour).
/// </summary>
[Collection(WallClockBoundCollection.Name)]
public sealed class MonitorFailbackTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_stalled_server_is_shown_down_within_about_two_seconds_flushed_exactly_once_when_it_returns_and_shown_up()
    {
        await using var harness = await MonitorHarness.StartAsync();
        await using (var direct = harness.DirectClient(1))
        {
            await direct.SetAsync("sentinel", "written before the stall");
        }

        var flushesBefore = await harness.FlushCountAsync(1);

        harness.Servers[1].Pause();
        var stalled = Stopwatch.StartNew();
        Assert.True(await harness.WaitForStateAsync(0, 1, "down", TimeSpan.FromSeconds(5)), "the stalled server was not shown down within 5 s");
        var shownDownAfter = stalled.Elapsed;
        output.WriteLine($"stalled server shown down on /api/status after {shownDownAfter.TotalMilliseconds:0} ms");

        // About 2 s promised: the monitor's timeouts and its 1 s poll; a loaded CI machine adds its scheduling delay.
        Assert.True(shownDownAfter < TimeSpan.FromSeconds(3), $"shown down only after {shownDownAfter.TotalMilliseconds:0} ms (about 2 s promised)");

        var down = await harness.ServerStatusAsync(0, 1);
        Assert.Equal("Timeouts", down.GetProperty("reason").GetString());
        Assert.True(down.GetProperty("record").GetProperty("fenced").GetBoolean(), "the shared view does not fence the stalled server: " + down);
        var outageEpoch = down.GetProperty("epoch").GetInt64();

        // The others stay up: one stalled server costs its own keys only.
        Assert.Equal("up", (await harness.ServerStatusAsync(0, 0)).GetProperty("state").GetString());
        Assert.Equal("up", (await harness.ServerStatusAsync(0, 2)).GetProperty("state").GetString());

        harness.Servers[1].Resume();
        var resumed = Stopwatch.StartNew();
        Assert.True(await harness.WaitForStateAsync(0, 1, "up", TimeSpan.FromSeconds(15)), "the returning server was not shown up within 15 s");
        output.WriteLine($"returning server shown up after {resumed.Elapsed.TotalMilliseconds:0} ms");

        // Flushed exactly once, by the monitor, before it was readmitted (its old data is gone).
        Assert.Equal(flushesBefore + 1, await harness.FlushCountAsync(1));
        await using (var direct = harness.DirectClient(1))
        {
            Assert.Null(await direct.GetStringAsync("sentinel"));
        }

        var up = await harness.ServerStatusAsync(0, 1);
        Assert.Equal(1, up.GetProperty("flushes").GetInt32());
        Assert.True(up.GetProperty("epoch").GetInt64() > outageEpoch);
        Assert.False(up.GetProperty("record").GetProperty("fenced").GetBoolean());

        // The timeline has the outage and the readmission, newest first.
        var events = (await harness.StatusAsync(0)).GetProperty("events").EnumerateArray().Where(e => e.GetProperty("server").GetString() == harness.EndPoint(1)).ToArray();
        Assert.Equal(["recovered", "flushed", "failed"], events.Select(e => e.GetProperty("kind").GetString()).Take(3));
        Assert.True(events[0].GetProperty("flushedHere").GetBoolean());
        Assert.Equal("Failback", events[1].GetProperty("reason").GetString());

        // Nothing flushes it again while it stays up.
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(flushesBefore + 1, await harness.FlushCountAsync(1));
    }

    [Fact]
    public async Task In_a_pool_of_four_a_stalled_server_that_gets_no_view_reads_is_shown_down_as_quickly_through_the_heartbeat()
    {
        await using var harness = await MonitorHarness.StartAsync(serverCount: 4);

        // Three of four servers are the view's witnesses and hold its records; the fourth holds nothing at all in an
        // idle pool, and gets no view reads: only the monitor's heartbeat and stats poll talk to it.
        var items = new long[4];
        for (var s = 0; s < 4; s++)
        {
            items[s] = long.Parse((await harness.DirectStatsAsync(s))["curr_items"], System.Globalization.CultureInfo.InvariantCulture);
        }

        var bystander = Assert.Single(Enumerable.Range(0, 4), s => items[s] == 0);
        var flushesBefore = await harness.FlushCountAsync(bystander);

        harness.Servers[bystander].Pause();
        var stalled = Stopwatch.StartNew();
        Assert.True(await harness.WaitForStateAsync(0, bystander, "down", TimeSpan.FromSeconds(8)), "the stalled non-witness was not shown down within 8 s");
        output.WriteLine($"stalled non-witness shown down on /api/status after {stalled.Elapsed.TotalMilliseconds:0} ms");
        Assert.True(stalled.Elapsed < TimeSpan.FromSeconds(2.5), $"shown down only after {stalled.Elapsed.TotalMilliseconds:0} ms (about 2 s promised; the stats poll alone took about 2.8 s)");

        harness.Servers[bystander].Resume();
        Assert.True(await harness.WaitForStateAsync(0, bystander, "up", TimeSpan.FromSeconds(15)), "the returning non-witness was not shown up within 15 s");
        Assert.Equal(flushesBefore + 1, await harness.FlushCountAsync(bystander));
    }

    [Fact]
    public async Task With_the_view_in_etcd_a_stalled_server_is_shown_down_flushed_once_and_shown_up()
    {
        // With etcd no server holds view records, so none gets view reads: the heartbeat is every server's.
        await using var etcd = await EtcdProcess.StartAsync();
        await using var harness = await MonitorHarness.StartAsync(etcdEndpoint: etcd.Endpoint);
        Assert.Equal("etcd", (await harness.StatusAsync(0)).GetProperty("view").GetProperty("store").GetString());
        var flushesBefore = await harness.FlushCountAsync(0);

        harness.Servers[0].Pause();
        var stalled = Stopwatch.StartNew();
        Assert.True(await harness.WaitForStateAsync(0, 0, "down", TimeSpan.FromSeconds(8)), "the stalled server was not shown down within 8 s");
        output.WriteLine($"stalled server (view in etcd) shown down on /api/status after {stalled.Elapsed.TotalMilliseconds:0} ms");
        Assert.True(stalled.Elapsed < TimeSpan.FromSeconds(2.5), $"shown down only after {stalled.Elapsed.TotalMilliseconds:0} ms (about 2 s promised)");
        Assert.True((await harness.ServerStatusAsync(0, 0)).GetProperty("record").GetProperty("fenced").GetBoolean());

        harness.Servers[0].Resume();
        Assert.True(await harness.WaitForStateAsync(0, 0, "up", TimeSpan.FromSeconds(15)), "the returning server was not shown up within 15 s");
        Assert.Equal(flushesBefore + 1, await harness.FlushCountAsync(0));
        Assert.Equal(1, (await harness.ServerStatusAsync(0, 0)).GetProperty("flushes").GetInt32());
    }

    [Fact]
    public async Task Two_monitors_at_once_flush_a_returning_server_exactly_once()
    {
        await using var harness = await MonitorHarness.StartAsync(monitorCount: 2);
        var flushesBefore = await harness.FlushCountAsync(0);

        harness.Servers[0].Pause();
        Assert.True(await harness.WaitForStateAsync(0, 0, "down", TimeSpan.FromSeconds(5)), "monitor 0 did not show the stalled server down");
        Assert.True(await harness.WaitForStateAsync(1, 0, "down", TimeSpan.FromSeconds(5)), "monitor 1 did not show the stalled server down");

        harness.Servers[0].Resume();
        Assert.True(await harness.WaitForStateAsync(0, 0, "up", TimeSpan.FromSeconds(15)), "monitor 0 did not show the returning server up");
        Assert.True(await harness.WaitForStateAsync(1, 0, "up", TimeSpan.FromSeconds(15)), "monitor 1 did not show the returning server up");
        await Task.Delay(TimeSpan.FromSeconds(1));

        Assert.Equal(flushesBefore + 1, await harness.FlushCountAsync(0));
        var flushes = new[] { await harness.ServerStatusAsync(0, 0), await harness.ServerStatusAsync(1, 0) }.Select(s => s.GetProperty("flushes").GetInt32()).ToArray();
        output.WriteLine($"failback flushes per monitor: {string.Join(", ", flushes)}");
        Assert.Equal(1, flushes.Sum());
    }
}
