namespace Ballast.Cli.Chaos;

/// <summary>What <c>ballast chaos</c> runs: the pool, the workload, the faults and their schedule.</summary>
public sealed class ChaosOptions
{
    /// <summary>The policies to run, in turn, each on fresh servers with the same seed and fault schedule.</summary>
    public IReadOnlyList<FailoverPolicy> Policies { get; set; } = [FailoverPolicy.Rehash, FailoverPolicy.Offline, FailoverPolicy.Gutter, FailoverPolicy.Replicated];

    /// <summary>The fault kinds the schedule draws from.</summary>
    public IReadOnlyList<FaultKind> Faults { get; set; } = [FaultKind.Kill, FaultKind.Pause, FaultKind.Blackhole, FaultKind.Partition];

    /// <summary>Main memcached servers (S).</summary>
    public int Servers { get; set; } = 3;

    /// <summary>Frontends (F): each its own client, reaching each server through its own proxy.</summary>
    public int Frontends { get; set; } = 3;

    /// <summary>
    /// PHP frontends (php-cli processes, one worker each) beside the .NET ones, on the same workload and checked alike:
    /// through the PHP bridge (<c>php/ballast.php</c>), or bare php-memcache with <see cref="PhpBare"/>. 0 for none.
    /// </summary>
    public int PhpFrontends { get; set; }

    /// <summary>PHP frontends use bare php-memcache with its default failover (the control), not the bridge.</summary>
    public bool PhpBare { get; set; }

    /// <summary>
    /// The PHP frontends' extension through the bridge: "memcache" (php-memcache, default; the .NET frontends then place
    /// keys with <see cref="KeyDistribution.PeclConsistent"/>) or "memcached" (php-memcached, ketama).
    /// </summary>
    public string PhpExtension { get; set; } = "memcache";

    /// <summary>Concurrent workers per frontend (W).</summary>
    public int WorkersPerFrontend { get; set; } = 4;

    /// <summary>Distinct keys, drawn from a Zipf distribution.</summary>
    public int Keys { get; set; } = 100;

    /// <summary>The Zipf exponent s.</summary>
    public double ZipfExponent { get; set; } = 1.0;

    /// <summary>Fraction of operations that are reads (the rest are writes: database update, then delete).</summary>
    public double ReadRatio { get; set; } = 0.9;

    /// <summary>
    /// Fraction of deletes, sets (through IDistributedCache and batches) and refills whose caller gives up mid-flight (a
    /// token that fires 0-40 ms in), as an aborted HTTP request does. A cancelled delete or set counts as a completed
    /// write from the moment its call returned.
    /// </summary>
    public double CancelRatio { get; set; }

    /// <summary>Fraction of reads made with get-and-touch (each miss then also touches the refilled key).</summary>
    public double TouchRatio { get; set; }

    /// <summary>Fraction of operations that increment one of four counters; no value may be handed out twice within one server epoch.</summary>
    public double CounterRatio { get; set; }

    /// <summary>
    /// Reads rotate over every read API (a leased get and refill, get-and-touch, a get-many of the key and another,
    /// a get into a buffer, <c>GetOrCreateAsync</c>) and writes over delete, mark-stale and a write-through
    /// <c>SetVersionedAsync</c> of the database's version, so the checker covers
    /// each path, not only the leased get and the delete.
    /// </summary>
    public bool ApiMix { get; set; }

    /// <summary>
    /// With <see cref="ApiMix"/>, the fraction of operations that are batch calls (<c>--batch-ratio</c>): a get-many,
    /// delete-many or set-many of 2 to 5 keys, each key's outcome checked like a single call's. Set-many runs only
    /// without PHP frontends (its stores must land in the database's order, so every .NET write then holds its keys'
    /// locks; PHP's writes take none). Default 0.2.
    /// </summary>
    public double BatchRatio { get; set; } = 0.2;

    /// <summary>
    /// How long a <c>GetOrCreateAsync</c> factory takes after reading the database (<c>--factory-delay</c>): a factory
    /// slower than the bound lets the database change while it runs, so a value it returns may be older than a write
    /// that completed before another caller began. Zero, the default, for none.
    /// </summary>
    public TimeSpan FactoryDelay { get; set; }

    /// <summary>
    /// Fraction of operations made through <c>IDistributedCache</c> (Ballast.Extensions' <c>BallastDistributedCache</c>)
    /// on keys of their own (<c>chaos:dc:k*</c>): get, refresh, set and remove of sliding entries. A miss refills with a
    /// set and a write sets the new value or removes the entry, each under a lock of the key held across the database
    /// access and the cache call, so the application itself has no race: a read that is stale is the cache's doing.
    /// </summary>
    public double DistributedCacheRatio { get; set; }

    /// <summary>
    /// Fraction of the PHP frontends' reads made with the bridge's <c>get()</c> (no lease; a miss reads the database and
    /// does not refill) instead of <c>getForRefill()</c>. Default 0.5.
    /// </summary>
    public double PhpGetRatio { get; set; } = 0.5;

    /// <summary>
    /// The one-way latency of the <see cref="FaultKind.Lag"/> fault (<c>--lag</c>). Default 400 ms. While lag is among
    /// the faults, the clients' operation timeout is at least twice this plus 300 ms (<see cref="EffectiveOperationTimeout"/>),
    /// so the lag stays below it.
    /// </summary>
    public TimeSpan LagLatency { get; set; } = TimeSpan.FromMilliseconds(400);

    /// <summary>
    /// How long the pool may take to settle after the run: every .NET frontend has every server up and serves a key
    /// of each (a set, then a hit). Default 10 s.
    /// </summary>
    public TimeSpan SettleTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long each policy runs.</summary>
    public TimeSpan Duration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Seeds the schedule and the workload.</summary>
    public int Seed { get; set; } = 1;

    /// <summary>Pause between one worker's operations, so the run does not saturate a small machine. Zero for none.</summary>
    public TimeSpan ThinkTime { get; set; } = TimeSpan.FromMilliseconds(2);

    /// <summary>The clients' operation timeout.</summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// The operation timeout the clients run with: <see cref="OperationTimeout"/>, raised to twice <see cref="LagLatency"/>
    /// plus 300 ms while <see cref="FaultKind.Lag"/> is among the faults.
    /// </summary>
    public TimeSpan EffectiveOperationTimeout => Faults.Contains(FaultKind.Lag) && OperationTimeout < (2 * LagLatency) + LagMargin
        ? (2 * LagLatency) + LagMargin
        : OperationTimeout;

    private static readonly TimeSpan LagMargin = TimeSpan.FromMilliseconds(300);

    /// <summary>The clients' connect timeout.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The shared view's bound B: stale reads that began more than B after the write they missed are violations.</summary>
    public TimeSpan Bound { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// PECL's retry interval under the Rehash policy. PECL's default is 15 s; a short run uses 2 s so a failed server
    /// comes back (with whatever it held) within the run.
    /// </summary>
    public TimeSpan RehashRetryInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Healthy time before the first fault.</summary>
    public TimeSpan Warmup { get; set; } = TimeSpan.FromSeconds(1.5);

    /// <summary>How long each fault lasts.</summary>
    public TimeSpan FaultLength { get; set; } = TimeSpan.FromSeconds(2.5);

    /// <summary>Healthy time between faults.</summary>
    public TimeSpan HealthyGap { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Healthy time after the last fault, so recoveries (and what they serve) are observed.</summary>
    public TimeSpan Tail { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Where the frontends keep the shared view: memcached (default) or etcd (<c>--view</c>).</summary>
    public SharedViewStoreKind View { get; set; } = SharedViewStoreKind.Memcached;

    /// <summary>etcd endpoints for <c>--view etcd</c>; when empty, the run starts its own etcd on a free loopback port.</summary>
    public IReadOnlyList<string> EtcdEndpoints { get; set; } = [];

    /// <summary>The half-period of the flap fault.</summary>
    public TimeSpan FlapPeriod { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Checks the ranges; throws <see cref="ArgumentException"/> naming the option.</summary>
    public void Validate()
    {
        Check(Policies.Count > 0, "--policy", "at least one policy");
        Check(Faults.Count > 0, "--faults", "at least one fault");
        Check(Servers is >= 1 and <= 16, "--start-servers", "1 to 16");
        Check(Frontends is >= 1 and <= 16, "--frontends", "1 to 16");
        Check(WorkersPerFrontend is >= 1 and <= 64, "--workers", "1 to 64");
        Check(Keys is >= 1 and <= 1_000_000, "--keys", "1 to 1000000");
        Check(ReadRatio is >= 0 and <= 1, "--read-ratio", "0 to 1");
        Check(CancelRatio is >= 0 and <= 1, "--cancel-ratio", "0 to 1");
        Check(TouchRatio is >= 0 and <= 1, "--touch-ratio", "0 to 1");
        Check(CounterRatio is >= 0 and <= 1, "--counter-ratio", "0 to 1");
        Check(DistributedCacheRatio is >= 0 and <= 1, "--distributed-cache-ratio", "0 to 1");
        Check(BatchRatio is >= 0 and <= 1, "--batch-ratio", "0 to 1");
        Check(PhpGetRatio is >= 0 and <= 1, "php get ratio", "0 to 1");
        Check(FactoryDelay >= TimeSpan.Zero && FactoryDelay <= TimeSpan.FromSeconds(30), "--factory-delay", "0 to 30 s");
        Check(FactoryDelay == TimeSpan.Zero || ApiMix, "--factory-delay", "used with --api-mix (GetOrCreate is one of its read paths)");
        Check(LagLatency > TimeSpan.Zero && LagLatency <= TimeSpan.FromSeconds(10), "--lag", "more than 0, up to 10 s");
        Check(SettleTimeout > TimeSpan.Zero, "settle timeout", "more than zero");
        Check(ZipfExponent is >= 0 and <= 5, "zipf exponent", "0 to 5");
        Check(Duration >= TimeSpan.FromSeconds(2) && Duration <= TimeSpan.FromHours(1), "--duration", "2 s to 1 h");
        Check(ThinkTime >= TimeSpan.Zero, "--think", "zero or more");
        Check(Bound > TimeSpan.Zero, "--bound", "more than zero");
        Check(PhpFrontends is >= 0 and <= 16, "--php-frontends", "0 to 16");
        Check(PhpExtension is "memcache" or "memcached", "--php-extension", "memcache or memcached");
        Check(!PhpBare || PhpExtension == "memcache", "--php-bare", "used with --php-extension memcache (the control is PECL memcache's failover)");
        if (PhpFrontends > 0)
        {
            // The bridge supports Offline pools (its deletes do not reach a gutter, replicated values carry a header PHP
            // does not read, Rehash keeps no view); bare php-memcache, the control, runs beside offline or rehash.
            Check(Policies.All(p => p == FailoverPolicy.Offline || (PhpBare && p == FailoverPolicy.Rehash)), "--policy", "offline with --php-frontends (or rehash with --php-bare)");
        }

        if (Policies.Contains(FailoverPolicy.Replicated))
        {
            Check(Servers >= 2, "--start-servers", "at least 2 under the replicated policy");
        }
    }

    private static void Check(bool ok, string name, string range)
    {
        if (!ok)
        {
            throw new ArgumentException($"The option {name} must be {range}.", name);
        }
    }
}
