namespace Ballast.Simulation.Workload;

/// <summary>The public keyed APIs the simulated application calls.</summary>
internal enum OperationKind
{
    /// <summary><c>GetAsync</c>; a miss reads the database and does not refill.</summary>
    Get,

    /// <summary><c>GetForRefillAsync</c>, then on a miss with a lease <c>RefillAsync</c> (possibly slow, possibly cancelled).</summary>
    LeasedGet,

    /// <summary><c>GetOrCreateAsync</c> whose factory reads the database and takes a while (possibly longer than the bound).</summary>
    GetOrCreate,

    /// <summary><c>GetManyAsync</c> of the key and another.</summary>
    GetMany,

    /// <summary><c>GetAndTouchAsync</c>.</summary>
    GetAndTouch,

    /// <summary><c>TouchAsync</c>.</summary>
    Touch,

    /// <summary>Write: database, then <c>DeleteAsync</c>.</summary>
    Delete,

    /// <summary>Write: database, then <c>MarkStaleAsync</c>.</summary>
    MarkStale,

    /// <summary>Write: database, then <c>SetAsync</c> (<c>SetVersionedAsync</c> under Replicated) of the new version.</summary>
    Set,

    /// <summary><c>IncrementAsync</c> of a counter (with an initial value).</summary>
    Increment,

    /// <summary><c>IDistributedCache.GetAsync</c>; a miss may refill under the key's write lock.</summary>
    CacheGet,

    /// <summary>Write: database, then <c>IDistributedCache.SetAsync</c> (sliding or absolute expiry).</summary>
    CacheSet,

    /// <summary><c>IDistributedCache.RefreshAsync</c>.</summary>
    CacheRefresh,

    /// <summary>Write: database, then <c>IDistributedCache.RemoveAsync</c>.</summary>
    CacheRemove,

    // The batch calls come last, so the kinds above keep their numbers (and pinned seeds their digests).

    /// <summary><c>GetManyAsync</c> of several data keys (<see cref="SimulationOptions.BatchRatio"/>); each key's read is checked on its own.</summary>
    BatchGet,

    /// <summary>Write of several data keys: database, then <c>SetManyAsync</c> of the new versions.</summary>
    BatchSet,

    /// <summary>Write of several data keys: database, then <c>DeleteManyAsync</c>.</summary>
    BatchDelete,
}
