using Ballast.Simulation;

namespace Ballast.Tests.Simulation;

/// <summary>A failing seed shrinks to a smaller schedule that still fails, and that schedule replays exactly.</summary>
public sealed class ReplayTests(ITestOutputHelper output)
{
    [Fact]
    public void A_failing_seed_shrinks_and_its_minimal_schedule_replays_exactly()
    {
        // Rehash, the control, fails in most seeds whatever the library's fixes: the first failing one of 1-10.
        var options = new SimulationOptions { Policy = FailoverPolicy.Rehash };
        var failing = Enumerable.Range(1, 10).Select(seed => ScheduleRunner.Run(SchedulePlan.Create(seed, options), options)).First(r => r.Failed);
        var shrunk = Shrinker.Shrink(failing, options, maxTries: 30);
        output.WriteLine($"{failing.Plan.Faults.Count} faults, {failing.History.Operations.Count} operations -> {shrunk.Plan.Faults.Count} faults, {shrunk.History.Operations.Count} operations");
        output.WriteLine(TraceWriter.Write(shrunk, operations: false));
        Assert.True(shrunk.History.Operations.Count < failing.History.Operations.Count);
        Assert.Contains(shrunk.Violations, v => v.Rule == failing.Violations[0].Rule);

        var again = ScheduleRunner.Run(shrunk.Plan, options);
        Assert.Equal(shrunk.Digest, again.Digest);
        Assert.Equal(shrunk.Violations.Select(v => v.ToString()), again.Violations.Select(v => v.ToString()));
    }
}
