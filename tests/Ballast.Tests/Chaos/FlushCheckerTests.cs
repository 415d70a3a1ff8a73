using Ballast.Cli.Chaos;

namespace Ballast.Tests.Chaos;

/// <summary>
/// The flush checks of <c>ballast chaos</c>, shown to catch what they claim to: a server flushed twice for one outage,
/// and a readmission that no flush paid for; and to let through what the promise allows.
/// </summary>
public sealed class FlushCheckerTests
{
    private static FaultEvent Fault(FaultKind kind, int server, double startMs, int? frontend = null)
        => new(new FaultWindow(kind, server, frontend, TimeSpan.FromMilliseconds(startMs), TimeSpan.FromMilliseconds(startMs + 2000)), startMs, startMs + 2000);

    private static ClientEvent Readmitted(int frontend, int server, double atMs) => new(frontend, server, atMs, Failed: false, "recovered");

    [Fact]
    public void One_flush_at_the_start_and_one_per_fault_pass()
    {
        FlushSample[] samples = [new(0, 100, 1), new(0, 4000, 2), new(0, 9000, 3)];
        var check = FlushChecker.Check(samples, [Fault(FaultKind.Kill, 0, 1500), Fault(FaultKind.Partition, 0, 6000, 1)], [], servers: 1);
        Assert.Empty(check.Excess);
    }

    [Fact]
    public void A_second_flush_for_one_outage_is_caught_with_when_each_was_seen()
    {
        FlushSample[] samples = [new(0, 100, 1), new(0, 3600, 2), new(0, 4200, 3)];
        var check = FlushChecker.Check(samples, [Fault(FaultKind.Partition, 0, 1500, 0)], [], servers: 1);
        var excess = Assert.Single(check.Excess);
        Assert.Equal((0, 4200d, 3L, 2), (excess.Server, excess.AtMs, excess.Flushes, excess.Allowed));
        Assert.Equal([100d, 3600d, 4200d], excess.SeenAtMs);
    }

    [Fact]
    public void A_flush_of_a_server_no_fault_touched_is_caught()
    {
        // Issue 16's three-server cost: frontend 0 cut from servers 1 and 2 gets server 0 flushed as lost.
        FlushSample[] samples = [new(0, 100, 1), new(1, 100, 1), new(0, 3000, 2), new(1, 3000, 2)];
        var check = FlushChecker.Check(samples, [Fault(FaultKind.Partition, 1, 1500, 0)], [], servers: 2);
        Assert.Equal(0, Assert.Single(check.Excess).Server);
    }

    [Fact]
    public void A_late_flush_of_one_fault_is_still_paid_for_by_that_fault()
    {
        // The first fault's flush comes after the second fault began: counted cumulatively, nothing is over.
        FlushSample[] samples = [new(0, 100, 1), new(0, 5100, 2), new(0, 9000, 3)];
        var check = FlushChecker.Check(samples, [Fault(FaultKind.Kill, 0, 1500), Fault(FaultKind.Pause, 0, 5000)], [], servers: 1);
        Assert.Empty(check.Excess);
    }

    [Fact]
    public void A_blip_touches_every_server_and_a_lag_every_server_but_its_own()
    {
        FlushSample[] samples = [new(0, 100, 1), new(1, 100, 1), new(2, 100, 1), new(0, 4000, 2), new(1, 4000, 2), new(2, 4000, 2)];
        Assert.Empty(FlushChecker.Check(samples, [Fault(FaultKind.Blip, 0, 1500, 2)], [], servers: 3).Excess);
        Assert.Equal(0, Assert.Single(FlushChecker.Check(samples, [Fault(FaultKind.Lag, 0, 1500, 2)], [], servers: 3).Excess).Server);
    }

    [Fact]
    public void Servers_a_flap_touched_are_left_unchecked()
    {
        FlushSample[] samples = [new(0, 100, 1), new(0, 3000, 5)];
        var check = FlushChecker.Check(samples, [Fault(FaultKind.Flap, 0, 1500)], [], servers: 1);
        Assert.Empty(check.Excess);
        Assert.Equal([0], check.Unchecked);
    }

    [Fact]
    public void Each_readmission_of_a_frontend_needs_a_flush_of_its_own()
    {
        FlushSample[] samples = [new(0, 100, 1), new(0, 3000, 2)];
        ClientEvent[] events = [Readmitted(0, 0, 200), Readmitted(0, 0, 3100), Readmitted(0, 0, 6000), Readmitted(1, 0, 3200)];
        var check = FlushChecker.Check(samples, [], events, servers: 1);
        Assert.Equal(Readmitted(0, 0, 6000), Assert.Single(check.Unflushed));
    }

    [Fact]
    public void A_flush_seen_shortly_after_the_readmission_it_paid_for_counts()
    {
        // The monitor reads every 100 ms: a flush is seen up to that late.
        FlushSample[] samples = [new(0, 100, 1), new(0, 3300, 2)];
        ClientEvent[] events = [Readmitted(0, 0, 200), Readmitted(0, 0, 3100), Readmitted(1, 0, 3900)];
        Assert.Empty(FlushChecker.Check(samples, [], events, servers: 1).Unflushed);
    }

    [Fact]
    public void Failures_and_other_servers_readmissions_are_not_readmissions_of_this_server()
    {
        FlushSample[] samples = [new(0, 100, 1), new(1, 100, 1)];
        ClientEvent[] events = [Readmitted(0, 0, 200), new(0, 0, 300, Failed: true, "down"), Readmitted(0, 1, 400)];
        Assert.Empty(FlushChecker.Check(samples, [], events, servers: 2).Unflushed);
    }

    /// <summary>One outage flushed by two frontends is the failure the failback lock exists to prevent; two outages, one flush each, are not, nor the holder's second flush.</summary>
    [Fact]
    public void An_outage_flushed_twice_is_caught_and_two_outages_flushed_once_each_are_not()
    {
        FlushEvent Flush(int frontend, long epoch, double at) => new(frontend, 0, at, epoch, ServerFlushReason.Failback);
        var twice = FlushChecker.Check([], [], [], servers: 1, [Flush(0, 7, 1000), Flush(1, 7, 1050)]);
        var repeated = Assert.Single(twice.Repeated!);
        Assert.Equal((0, 7L, 2), (repeated.Server, repeated.Epoch, repeated.Flushes.Count));

        Assert.Empty(FlushChecker.Check([], [], [], servers: 1, [Flush(0, 7, 1000), Flush(1, 9, 3000)]).Repeated!);

        // The lock's holder flushing again for its own outage (a fence touched the record during its failback) is allowed.
        Assert.Empty(FlushChecker.Check([], [], [], servers: 1, [Flush(0, 7, 1000), Flush(0, 7, 2000)]).Repeated!);
    }
}
