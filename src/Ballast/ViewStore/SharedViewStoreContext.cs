using Microsoft.Extensions.Logging;

namespace Ballast;

/// <summary>What a shared-view store is built from (<see cref="SharedViewOptions.UseStore"/>).</summary>
public sealed class SharedViewStoreContext
{
    internal SharedViewStoreContext(string poolName, int recordCount, TimeSpan bound, TimeSpan lockTimeToLive, TimeProvider time, ILogger logger)
    {
        PoolName = poolName;
        RecordCount = recordCount;
        Bound = bound;
        LockTimeToLive = lockTimeToLive;
        TimeProvider = time;
        Logger = logger;
    }

    /// <summary>The pool's name: a store keeps each pool's records apart under it.</summary>
    public string PoolName { get; }

    /// <summary>How many records the pool has: one per server, main then gutter.</summary>
    public int RecordCount { get; }

    /// <summary>The view's bound B: a call to the store should give up within it (a read that answers later renews nothing).</summary>
    public TimeSpan Bound { get; }

    /// <summary>How long locks live.</summary>
    public TimeSpan LockTimeToLive { get; }

    /// <summary>The client's clock.</summary>
    public TimeProvider TimeProvider { get; }

    /// <summary>The client's logger.</summary>
    public ILogger Logger { get; }
}
