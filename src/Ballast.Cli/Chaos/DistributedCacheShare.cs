using Microsoft.Extensions.Caching.Distributed;

namespace Ballast.Cli.Chaos;

/// <summary>What one frontend's workload needs for its <c>IDistributedCache</c> share (<see cref="ChaosOptions.DistributedCacheRatio"/>).</summary>
/// <param name="Cache">The frontend's cache (Ballast.Extensions' <c>BallastDistributedCache</c> over its client).</param>
/// <param name="Locks">The run's key locks, shared by every frontend.</param>
/// <param name="Keys">The run's keys: the share's keys are the distributed-cache twins of the workload's.</param>
public sealed record DistributedCacheShare(IDistributedCache Cache, KeyLocks Locks, KeySpace Keys);
