using System.Diagnostics;
using System.Globalization;

namespace Ballast.Tests.Integrity;

/// <summary>
/// Issue 16, break 7: pools that do not settle after an outage, or flush a server that had no fault. A pool has
/// settled when every frontend has every server up and serves keys of each (a set, then a hit on the same frontend);
/// an outage may cost each server at most one flush, and none to a server nothing happened to.
/// </summary>
[Collection(WallClockBoundCollection.Name)]
public sealed class EdgeOfPromiseSmallPoolTests(ITestOutputHelper output)
{
    /// <summary>How long a pool may take to settle once the fault is lifted (one- and three-server pools take about 2 s).</summary>
    private static readonly TimeSpan SettleWithin = TimeSpan.FromSeconds(8);

    /// <summary>
    /// A two-server pool: one server stalls (SIGSTOP) for 4 s while both frontends read. Within 8 s of its resume,
    /// both servers are up and serving on both frontends, and neither was flushed more than once.
    /// </summary>
    [Fact]
    public async Task Break7_a_two_server_pool_settles_after_a_four_second_stall_with_at_most_one_flush_per_server()
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, serverCount: 2);
        var flushesBefore = new[] { await harness.FlushCountAsync(0), await harness.FlushCountAsync(1) };
        var keys = new[] { harness.KeyOn(0, "edge7"), harness.KeyOn(1, "edge7") };

        using var stop = new CancellationTokenSource();
        var readers = Enumerable.Range(0, 2).Select(f => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                foreach (var key in keys)
                {
                    await harness.ReadAsync(f, key);
                }

                await Task.Delay(20);
            }
        })).ToArray();

        harness.Server(1).Pause();
        await Task.Delay(TimeSpan.FromSeconds(4));
        harness.Server(1).Resume();
        var sinceResume = Stopwatch.StartNew();
        var settled = await SettledAsync(harness, 2, SettleWithin);
        var settledAfter = sinceResume.Elapsed;
        await stop.CancelAsync();
        await Task.WhenAll(readers);

        var flushes = new[] { await harness.FlushCountAsync(0) - flushesBefore[0], await harness.FlushCountAsync(1) - flushesBefore[1] };
        var states = string.Join(", ", Enumerable.Range(0, 2).SelectMany(f => Enumerable.Range(0, 2).Select(s => $"f{f}/s{s} {harness.Frontends[f].GetServerState(harness.EndPoint(s))}")));
        output.WriteLine($"settled: {settled} ({settledAfter.TotalSeconds:0.0} s after the resume); flushes since the stall: s0 {flushes[0]}, s1 {flushes[1]}; {states}; {harness.Failures.Count} failure and {harness.Recoveries.Count} recovery events");
        Assert.True(settled, $"the two-server pool had not settled {SettleWithin.TotalSeconds:0} s after a 4 s stall of one server ({states}); flushes since: s0 {flushes[0]}, s1 {flushes[1]}; {harness.Failures.Count} failure and {harness.Recoveries.Count} recovery events");
        Assert.True(flushes.All(n => n <= 1), $"one 4 s stall cost server 0 {flushes[0]} flushes and server 1 {flushes[1]}, more than one each");
    }

    /// <summary>
    /// A three-server pool: frontend A is cut from servers 1 and 2 for 3 s (it keeps server 0). Server 0 had no
    /// fault and must not be flushed; servers 1 and 2 at most once each; the pool settles within 8 s of the heal.
    /// </summary>
    [Fact]
    public async Task Break7_a_frontend_cut_from_two_of_three_servers_does_not_get_the_third_flushed()
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline);
        var flushesBefore = new long[3];
        for (var s = 0; s < 3; s++)
        {
            flushesBefore[s] = await harness.FlushCountAsync(s);
        }

        harness.Cut(0, 1);
        harness.Cut(0, 2);
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.True(await harness.WaitForStateAsync(1, ServerState.Down, TimeSpan.FromSeconds(3), 0) && await harness.WaitForStateAsync(2, ServerState.Down, TimeSpan.FromSeconds(3), 0), "frontend A did not mark the servers it was cut from down");
        harness.Heal(0, 1);
        harness.Heal(0, 2);
        var sinceHeal = Stopwatch.StartNew();
        var settled = await SettledAsync(harness, 3, SettleWithin);
        var settledAfter = sinceHeal.Elapsed;

        // A flush that comes late is still a flush: look once more after a pause.
        await Task.Delay(1000);
        var flushes = new long[3];
        for (var s = 0; s < 3; s++)
        {
            flushes[s] = await harness.FlushCountAsync(s) - flushesBefore[s];
        }

        var lost = harness.Failures.Where(f => f.Server == harness.EndPoint(0)).Select(f => f.ToString()).ToArray();
        output.WriteLine($"settled: {settled} ({settledAfter.TotalSeconds:0.0} s after the heal); flushes: s0 {flushes[0]}, s1 {flushes[1]}, s2 {flushes[2]}; events of s0: {string.Join(" | ", lost)}");
        output.WriteLine("flushed by: " + string.Join(" | ", harness.Flushes.Select(f => $"frontend {f.Frontend}: {f.Args.Server} {f.Args.Reason} epoch {f.Args.Epoch} at {f.Args.Time:HH:mm:ss.fff}")));
        output.WriteLine("fenced: " + string.Join(" | ", harness.Failures.Select(f => f.ToString())));
        output.WriteLine("readmitted: " + string.Join(" | ", harness.Recoveries.Select(r => $"frontend {r.Frontend}: {r.Args}")));
        Assert.True(flushes[0] == 0, $"server 0, which had no fault and stayed reachable from every frontend, was flushed {flushes[0]} times after frontend A was cut from servers 1 and 2; its events: {string.Join(" | ", lost)}");
        Assert.True(flushes[1] <= 1 && flushes[2] <= 1, $"servers 1 and 2 were flushed {flushes[1]} and {flushes[2]} times for one partition");
        Assert.True(settled, $"the pool had not settled {SettleWithin.TotalSeconds:0} s after the heal");
    }

    /// <summary>
    /// A two-server pool, each server a witness of the view: an operator's <c>flush_all</c> of server 1 erases its copy
    /// of both records. The other copy alone must vouch for them (a newer record published to a write quorum, both
    /// replicas here, would have reached the erased one too): neither record is lost, so server 0 is never flushed.
    /// Server 1 itself lost what it held (its counters start over), so it is fenced as an emptied witness and its
    /// failback flushes it once more (empty already) before a new epoch readmits it. Without the relaxed vouching
    /// (mutant 41) both records read as lost, and the recoveries flush server 0, which had no fault at all.
    /// </summary>
    [Fact]
    public async Task A_two_server_pool_whose_witness_is_flushed_by_an_operator_never_flushes_the_other_server()
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, serverCount: 2);
        var keys = new[] { harness.KeyOn(0, "witness-flush"), harness.KeyOn(1, "witness-flush") };
        foreach (var key in keys)
        {
            await harness.ReadAsync(0, key);
        }

        var flushesBefore = new[] { await harness.FlushCountAsync(0), await harness.FlushCountAsync(1) };
        await harness.OperatorFlushAsync(1);

        // Several refreshes of the view (every B / 4) and more than the bound a recovery waits before its flush.
        var until = Stopwatch.StartNew();
        while (until.Elapsed < TimeSpan.FromSeconds(4))
        {
            for (var f = 0; f < 2; f++)
            {
                foreach (var key in keys)
                {
                    await harness.ReadAsync(f, key);
                }
            }

            await Task.Delay(20);
        }

        var flushes = new[] { await harness.FlushCountAsync(0) - flushesBefore[0], await harness.FlushCountAsync(1) - flushesBefore[1] };
        var ours = string.Join(" | ", harness.Flushes.Select(f => $"frontend {f.Frontend}: {f.Args.Server} {f.Args.Reason} epoch {f.Args.Epoch}"));
        var failures = string.Join(" | ", harness.Failures.Select(f => f.ToString()));
        output.WriteLine($"flushes since the operator's: s0 {flushes[0]}, s1 {flushes[1]} (the operator's own included); Ballast's: {ours}; failures: {failures}");
        Assert.True(flushes[0] == 0, $"server 0, which had no fault, was flushed {flushes[0]} times after the operator flushed server 1 (Ballast's flushes: {ours}; failures: {failures})");
        Assert.True(flushes[1] <= 2, $"server 1 was flushed {flushes[1]} times, the operator's flush and {flushes[1] - 1} of Ballast's ({ours})");
        Assert.True(await SettledAsync(harness, 2, SettleWithin), $"the pool had not settled {SettleWithin.TotalSeconds:0} s after the operator's flush");
    }

    /// <summary>Every frontend has every server up and serves a key of each (a set, then a hit), within <paramref name="within"/>.</summary>
    private static async Task<bool> SettledAsync(IntegrityHarness harness, int servers, TimeSpan within)
    {
        var probes = Enumerable.Range(0, servers).Select(s => harness.KeyOn(s, "settle-probe")).ToArray();
        var round = 0;
        return await IntegrityHarness.WaitUntilAsync(async () =>
        {
            round++;
            for (var f = 0; f < harness.Frontends.Length; f++)
            {
                var client = harness.Frontends[f];
                for (var s = 0; s < servers; s++)
                {
                    if (client.GetServerState(harness.EndPoint(s)) != ServerState.Up)
                    {
                        return false;
                    }

                    var value = string.Create(CultureInfo.InvariantCulture, $"f{f}-r{round}");
                    try
                    {
                        if (!(await client.SetAsync(probes[s], value)).IsStored || await client.GetStringAsync(probes[s]) != value)
                        {
                            return false;
                        }
                    }
                    catch (MemcachedException)
                    {
                        return false;
                    }
                }
            }

            return true;
        }, within);
    }
}
