namespace Ballast.Tests.Integrity;

/// <summary>
/// A witness that lost everything under the frontends, with nothing on the wire to say so: an operator's
/// <c>flush_all</c> here, a restart under a blackhole in the simulator (seed 3003880 on the code of 2026-12-07, where
/// no reset reached any frontend and its counters were handed out again from 1). Its own copy of its record is gone
/// while the other witnesses still have it up: the frontends fence it, so its counters, which start over, are used
/// again only after a failback readmits it at a new epoch (which every frontend is told of). Mutant 61.
/// </summary>
[Collection(WallClockBoundCollection.Name)]
public sealed class EmptiedWitnessTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_witness_emptied_with_no_reset_is_fenced_and_readmitted_at_a_new_epoch()
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline);
        var server = harness.EndPoint(2);
        var counter = harness.KeyOn(2, "emptied-counter");
        for (var i = 0; i < 4; i++)
        {
            await harness.Frontends[i % 2].IncrementAsync(counter, initial: 1);
        }

        var flushesBefore = await harness.FlushCountAsync(2);
        await harness.OperatorFlushAsync(2);

        // Every frontend reads the view every B / 4; the fence needs no traffic to server 2 at all.
        var fenced = await IntegrityHarness.WaitUntilAsync(() => harness.Failures.Any(e => e.Server == server), TimeSpan.FromSeconds(4));
        var readmitted = await IntegrityHarness.WaitUntilAsync(() => harness.Recoveries.Any(r => r.Args.Server == server), TimeSpan.FromSeconds(8));
        var flushes = await harness.FlushCountAsync(2) - flushesBefore;
        output.WriteLine($"fenced: {fenced}; readmitted: {readmitted}; flushes of server 2 since the operator's (its own included): {flushes}");
        output.WriteLine("failures: " + string.Join(" | ", harness.Failures.Select(f => f.ToString())));
        output.WriteLine("readmissions: " + string.Join(" | ", harness.Recoveries.Select(r => $"frontend {r.Frontend}: {r.Args}")));
        Assert.True(fenced, "no frontend fenced the witness whose copy of the view was emptied under it: its counters, which started over, were still in use");
        Assert.True(readmitted, "the emptied witness was fenced but never readmitted");
        Assert.True(harness.Recoveries.Where(r => r.Args.Server == server).All(r => r.Args.Epoch > harness.Failures.Where(f => f.Server == server).Max(f => f.Epoch)), "a readmission of the emptied witness came at no newer epoch than its fence");
    }
}
