namespace Ballast.Diagnostics;

/// <summary>What the observable gauges read of a live client: its pool, what it owes, and how fresh its view is.</summary>
internal interface IObservedPool
{
    /// <summary>The pool's name (the gauges' <c>ballast.pool.name</c>).</summary>
    string PoolName { get; }

    /// <summary>Invalidations the client owes.</summary>
    int PendingInvalidationCount { get; }

    /// <summary>Time since the shared view was last read from a quorum; null without a view or before the first read.</summary>
    TimeSpan? SharedViewAge { get; }
}
