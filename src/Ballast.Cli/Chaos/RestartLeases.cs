namespace Ballast.Cli.Chaos;

/// <summary>What the <see cref="FaultKind.Restart"/> faults of a run did.</summary>
/// <param name="Taken">Leases taken before a restart.</param>
/// <param name="BroughtRound">Restarts after which a new placeholder of the key got the old lease's CAS.</param>
/// <param name="OldLeasesStored">Refills under a lease of the server's earlier life that were stored (issue 16's fourth break).</param>
/// <param name="Misses">The windows whose lease did not reach the reads after the restart, and why.</param>
public sealed record RestartLeases(int Taken, int BroughtRound, int OldLeasesStored, IReadOnlyList<RestartLeaseMiss> Misses);
