namespace Ballast;

/// <summary>The outcome of a store (set, add, replace, append, prepend, compare-and-swap).</summary>
public enum StoreStatus
{
    /// <summary>The value was stored.</summary>
    Stored = 0,

    /// <summary>Not stored because the command's condition failed: add of an existing key, replace, append or prepend of a missing one.</summary>
    NotStored = 1,

    /// <summary>Not stored because the CAS unique no longer matches: someone changed the item since it was read.</summary>
    Exists = 2,

    /// <summary>Not stored because a compare-and-swap found no item.</summary>
    NotFound = 3,

    /// <summary>
    /// Not stored because the key's server is down and the pool's failover policy stores nowhere else
    /// (<see cref="FailoverPolicy.Offline"/>). The cache simply does not hold the key; nothing stale can be read.
    /// </summary>
    ServerDown = 4,
}
