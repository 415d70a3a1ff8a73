namespace Ballast.Cli.Chaos;

/// <summary>
/// The names of the read paths a chaos run takes (<see cref="ReadRecord.Path"/>), so that stale reads can be counted
/// per path: a path the checker never took is a path it cannot vouch for. PHP frontends' paths are these with a
/// <c>php-</c> prefix (<c>php-get</c>, <c>php-get-for-refill</c>, <c>php-bare-get</c>).
/// </summary>
public static class ReadPaths
{
    /// <summary>A leased get, refilled under the lease on a miss.</summary>
    public const string GetForRefill = "get-for-refill";

    /// <summary>Get-and-touch, refilled under the lease and touched on a miss.</summary>
    public const string GetAndTouch = "get-and-touch";

    /// <summary>A get-many of the key and another one (no lease, no refill).</summary>
    public const string GetMany = "get-many";

    /// <summary>A batch get-many of 2 to 5 keys, every key's read recorded (no lease, no refill; <see cref="ChaosOptions.BatchRatio"/>).</summary>
    public const string BatchGet = "batch-get";

    /// <summary>A get into a reused buffer (no lease, no refill).</summary>
    public const string GetIntoBuffer = "get-into-buffer";

    /// <summary><c>GetOrCreateAsync</c> (which takes the lease and refills itself).</summary>
    public const string GetOrCreate = "get-or-create";

    /// <summary>A get (now and then after a refresh) through <c>IDistributedCache</c>, refilled with a set on a miss.</summary>
    public const string DistributedCache = "distributed-cache";

    /// <summary>A leased get of the <see cref="FaultKind.Restart"/> fault's key after its server came back.</summary>
    public const string AfterRestart = "after-restart";
}
