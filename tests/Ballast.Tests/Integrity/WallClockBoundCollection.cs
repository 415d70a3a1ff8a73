namespace Ballast.Tests.Integrity;

/// <summary>
/// Tests that measure the promise in real time (no stale read more than the bound B after a failure or a caller's
/// return) run alone, after the parallel tests. The bound is a wall-clock promise: on a two-core CI machine a
/// neighbouring test that saturates the CPU delays the view refresh and the fence by hundreds of milliseconds, which
/// measures the neighbour, not the client. (A CI run failed by 15 ms that way: a read began 1015 ms after a cancelled
/// delete returned, with the bound at 1 s, while the same case passes alone on every run.)
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class WallClockBoundCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "WallClockBound";
}
