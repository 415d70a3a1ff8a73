using Ballast.Simulation.Faults;

namespace Ballast.Simulation;

/// <summary>
/// Everything one schedule is made of before it runs: its seed (which also seeds the network, the jitter and every
/// worker's operation stream), its pool size, its faults, and what the shrinker has cut away (faults, operations,
/// the length of each worker's stream).
/// </summary>
internal sealed record SchedulePlan(int Seed, int Servers, IReadOnlyList<PlannedFault> Faults, int MaxOperationsPerWorker, IReadOnlySet<(int Worker, int Index)> DroppedOperations)
{
    /// <summary>Draws the plan of <paramref name="seed"/>.</summary>
    public static SchedulePlan Create(int seed, SimulationOptions options)
    {
        var random = new Random(seed ^ 0x2545F491);
        var servers = random.Next(options.MinServers, options.MaxServers + 1);
        var active = options.ActiveTime.Ticks;
        var faults = new List<PlannedFault>();
        var count = random.Next(1, options.MaxFaults + 1);
        var kinds = Enum.GetValues<FaultKind>();
        for (var i = 0; i < count; i++)
        {
            var kind = kinds[random.Next(kinds.Length)];
            var server = random.Next(servers);
            var frontend = kind is FaultKind.Partition or FaultKind.OneWayPartition or FaultKind.Slow or FaultKind.Reset or FaultKind.Blip
                ? random.Next(options.Frontends)
                : -1;
            var start = (long)(random.NextDouble() * 0.8 * active) + (active / 10);
            var length = kind switch
            {
                FaultKind.OperatorFlush or FaultKind.Evict => 0,
                FaultKind.Blip => random.NextInt64(2_000, 4_500) * TimeSpan.TicksPerMillisecond,
                _ => random.NextInt64(200, 4_500) * TimeSpan.TicksPerMillisecond,
            };
            faults.Add(new PlannedFault(kind, server, frontend, start, Math.Min(start + length, active), random.Next(2)));
        }

        faults.Sort((a, b) => a.Start.CompareTo(b.Start));
        return new SchedulePlan(seed, servers, faults, int.MaxValue, new HashSet<(int, int)>());
    }
}
