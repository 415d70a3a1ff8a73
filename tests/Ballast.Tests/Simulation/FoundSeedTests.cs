using Ballast.Simulation;

namespace Ballast.Tests.Simulation;

/// <summary>
/// Seeds on which the simulator found a break that is now fixed, replayed exactly: each must stay clean. Each failed on
/// the code (or the checker) before its fix (named with the seed), so each is its own control.
/// </summary>
public sealed class FoundSeedTests(ITestOutputHelper output)
{
    [Theory]
    // A frontend cut from every link for the whole outage never saw the server down, then read the readmission (a
    // newer epoch, the server flushed) and went on incrementing a counter that had started again: it was not told.
    [InlineData("Offline", 1006582)]
    // A frontend cut from the view's replicas owed a fence, and fenced the readmission another frontend made while it
    // was away (no invalidation of its own depended on it): the pool did not settle.
    [InlineData("Replicated", 1005215)]
    // An invalidation owed for want of a quorum was journaled at a lagging view's epoch and "settled" by a
    // readmission made before it failed; the delete was never sent, and the pool did not settle.
    [InlineData("Offline", 1008908)]
    // The checker's own break: a flush (the operator's, here) landed between the server's increment and its answer's
    // arrival, and the value was judged in the epoch after the flush, so the counter's restart looked like a duplicate.
    [InlineData("Offline", 1006534)]
    [InlineData("Gutter", 1009697)]
    public void A_seed_that_found_a_fixed_break_replays_clean(string policy, int seed)
    {
        var options = new SimulationOptions { Policy = Enum.Parse<FailoverPolicy>(policy) };
        var result = ScheduleRunner.Run(SchedulePlan.Create(seed, options), options);
        output.WriteLine(string.Join(Environment.NewLine, result.Violations.Select(v => v.ToString())));
        Assert.Empty(result.Violations);
    }
}
