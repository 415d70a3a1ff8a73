using Ballast.Cli.Chaos;

namespace Ballast.Tests.Chaos;

/// <summary>
/// The counter check of <c>ballast chaos</c>, shown to catch what it claims to: a value handed out twice within one
/// epoch of the counter's server, as the frontend that got it the second time knows that epoch.
/// </summary>
public sealed class CounterCheckerTests
{
    private static readonly int[] OnServerZero = [0, 0, 0, 0];

    [Fact]
    public void A_value_handed_out_twice_within_one_epoch_is_a_duplicate()
    {
        CounterRecord[] counters = [new(0, 1, 7, 10), new(1, 1, 8, 20), new(2, 1, 7, 30)];
        var duplicates = CounterChecker.Duplicates(counters, [], OnServerZero);
        Assert.Equal(new CounterRecord(2, 1, 7, 30), Assert.Single(duplicates));
    }

    [Fact]
    public void A_readmission_of_the_counters_server_starts_a_new_epoch_for_the_frontend_that_readmitted_it()
    {
        CounterRecord[] counters = [new(0, 1, 7, 10), new(1, 1, 7, 30)];
        ClientEvent[] readmitted = [new(1, 0, 20, Failed: false, "recovered")];
        Assert.Empty(CounterChecker.Duplicates(counters, readmitted, OnServerZero));
    }

    /// <summary>
    /// Issue 16's blip: frontend 2 flushed and readmitted the server, frontend 1 never noticed and goes on counting
    /// from the restarted counter. Another frontend's readmission is no news to frontend 1.
    /// </summary>
    [Fact]
    public void Another_frontends_readmission_does_not_end_the_epoch_of_a_frontend_that_saw_nothing()
    {
        CounterRecord[] counters = [new(1, 1, 7, 10), new(1, 1, 8, 15), new(1, 1, 7, 30)];
        ClientEvent[] readmitted = [new(2, 0, 20, Failed: false, "recovered")];
        Assert.Equal(new CounterRecord(1, 1, 7, 30), Assert.Single(CounterChecker.Duplicates(counters, readmitted, OnServerZero)));
    }

    [Fact]
    public void A_readmission_before_the_first_handing_out_does_not_excuse_the_second()
    {
        CounterRecord[] counters = [new(0, 1, 7, 10), new(1, 1, 7, 30)];
        ClientEvent[] readmitted = [new(1, 0, 5, Failed: false, "recovered")];
        Assert.Single(CounterChecker.Duplicates(counters, readmitted, OnServerZero));
    }

    [Fact]
    public void A_failure_event_or_another_servers_readmission_does_not_end_the_epoch()
    {
        CounterRecord[] counters = [new(0, 1, 7, 10), new(1, 1, 7, 30)];
        ClientEvent[] events = [new(2, 0, 20, Failed: true, "down"), new(2, 1, 25, Failed: false, "recovered")];
        Assert.Single(CounterChecker.Duplicates(counters, events, OnServerZero));
    }

    [Fact]
    public void The_same_value_from_two_counters_is_no_duplicate()
    {
        CounterRecord[] counters = [new(0, 1, 7, 10), new(1, 2, 7, 30)];
        Assert.Empty(CounterChecker.Duplicates(counters, [], OnServerZero));
    }
}
