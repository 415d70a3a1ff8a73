using Ballast.Simulation.Checking;
using Ballast.Simulation.Runtime;

namespace Ballast.Simulation;

/// <summary>What one schedule did: the rules it broke, its history's digest, how much virtual time and work it took.</summary>
internal sealed record ScheduleResult(
    SchedulePlan Plan,
    IReadOnlyList<Violation> Violations,
    string Digest,
    long VirtualTicks,
    long Steps,
    IReadOnlyList<DeterminismLeak> Leaks,
    long SettledAt,
    History History)
{
    public bool Failed => Violations.Count > 0;
}
