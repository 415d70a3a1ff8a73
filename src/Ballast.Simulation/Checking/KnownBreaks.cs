using Ballast.Simulation.Faults;

namespace Ballast.Simulation.Checking;

/// <summary>
/// Which known break explains a violation: issue 16's breaks on the code before its fixes, and what the simulator
/// found beyond them (reported with issue 18). A violation none of them explains is news. Empty this list as the
/// breaks are fixed.
/// </summary>
internal static class KnownBreaks
{
    public static string? Explain(SchedulePlan plan, Violation violation) => violation.Rule switch
    {
        "stale-read-getorcreate-run" => "issue 16 #1 (GetOrCreate joins a run begun before an invalidation)",
        "stale-read-unstored-set" => "issue 16 #3 (a write-through set that did not land leaves the old value)",
        "stale-read-no-quorum" => "the no-quorum case (a frontend cut off from every server cannot fence; a cancelled caller is not told)",
        "counter-across-flush" or "counter-duplicate" when plan.Faults.Any(f => f.Kind == FaultKind.Blip)
            => "issue 16 #6 (after a blip, the failback flushes without waiting the bound)",
        "not-settled" or "double-flush" or "counter-across-flush" or "counter-duplicate" when plan.Servers == 2
            => "issue 16 #7 (a two-server pool does not settle: more than one flush per outage, under frontends using the server)",

        // Found by the simulator (seed 8, Offline and Gutter): after a witness restarts, a server with no fault of its
        // own is marked lost by every frontend and never recovered.
        "not-settled" when plan.Faults.Any(f => f.Kind == FaultKind.Kill) => "new: a server marked lost after a witness restart is never recovered",
        _ => null,
    };
}
