using Ballast.Simulation.Faults;

namespace Ballast.Simulation.Checking;

/// <summary>
/// Which known, reported break explains a violation; a violation none of them explains is news. On the code before
/// issue 16's fixes the simulator also found its breaks #1 (a GetOrCreate run begun before an invalidation,
/// <c>stale-read-getorcreate-run</c>), #3 (a write-through set that did not land, <c>stale-read-unstored-set</c>), #6
/// (a blip's failback flushing without waiting the bound, <c>counter-across-flush</c>) and #7 (a two-server pool that
/// never settles, <c>not-settled</c> and <c>double-flush</c>); they are fixed, so they are news again here. Empty this
/// list as the rest are fixed.
/// </summary>
internal static class KnownBreaks
{
    public static string? Explain(SchedulePlan plan, Violation violation) => violation.Rule switch
    {
        // Documented: a frontend cut off from every server can neither confirm a delete nor publish a fence; the
        // invalidation is owed (DeleteAsync throws), and a caller that cancelled is not told.
        "stale-read-no-quorum" => "the no-quorum case (documented in docs/integrity.md, 'No quorum')",

        // Found by the simulator (seed 8, Offline and Gutter; reported with issue 18): after a witness restarts, a
        // server with no fault of its own is marked lost by every frontend and never recovered.
        "not-settled" when plan.Faults.Any(f => f.Kind == FaultKind.Kill) && plan.Servers > 2
            => "new: a server marked lost after a witness restart is never recovered",
        _ => null,
    };
}
