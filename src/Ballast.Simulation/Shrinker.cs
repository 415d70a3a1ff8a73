namespace Ballast.Simulation;

/// <summary>
/// Makes a failing schedule smaller while it still breaks the same rule: drops faults one at a time, cuts every
/// worker's stream after the last operation that ran before the violation, then drops single operations. Each try is
/// a full run of the world (deterministic, so a kept cut keeps failing); the number of tries is bounded.
/// </summary>
internal static class Shrinker
{
    public static ScheduleResult Shrink(ScheduleResult failing, SimulationOptions options, int maxTries = 300)
    {
        var rule = failing.Violations[0].Rule;
        var best = failing;
        var tries = 0;

        bool StillFails(SchedulePlan plan, out ScheduleResult result)
        {
            tries++;
            result = ScheduleRunner.Run(plan, options);
            return result.Violations.Any(v => v.Rule == rule);
        }

        // Faults, one at a time.
        for (var i = best.Plan.Faults.Count - 1; i >= 0 && tries < maxTries; i--)
        {
            var fewer = best.Plan.Faults.Where((_, j) => j != i).ToArray();
            if (StillFails(best.Plan with { Faults = fewer }, out var result))
            {
                best = result;
            }
        }

        // Every worker's stream ends after the operations that began before the first violation.
        var violationAt = best.Violations.First(v => v.Rule == rule).At;
        var lastUsed = best.History.Operations.Where(o => o.Start <= violationAt).Select(o => o.Index).DefaultIfEmpty(0).Max();
        if (tries < maxTries && StillFails(best.Plan with { MaxOperationsPerWorker = lastUsed + 1 }, out var cut))
        {
            best = cut;
        }

        // Single operations, latest first (the ones before the violation are the candidates).
        var candidates = best.History.Operations
            .Where(o => o.Start <= best.Violations.First(v => v.Rule == rule).At)
            .Select(o => ((o.Frontend * options.WorkersPerFrontend) + o.Worker, o.Index))
            .Distinct()
            .Reverse()
            .ToArray();
        foreach (var candidate in candidates)
        {
            if (tries >= maxTries)
            {
                break;
            }

            var dropped = new HashSet<(int, int)>(best.Plan.DroppedOperations) { candidate };
            if (StillFails(best.Plan with { DroppedOperations = dropped }, out var result))
            {
                best = result;
            }
        }

        return best;
    }
}
