namespace Ballast.Simulation;

/// <summary>The shape of the simulated worlds a run explores; each seed draws its own world within it.</summary>
internal sealed record SimulationOptions
{
    /// <summary>The failover policy every frontend runs.</summary>
    public FailoverPolicy Policy { get; init; } = FailoverPolicy.Offline;

    /// <summary>Main servers: each seed draws between these (inclusive); 2 explores the two-server pool.</summary>
    public int MinServers { get; init; } = 2;

    public int MaxServers { get; init; } = 3;

    /// <summary>Frontends (clients) per world.</summary>
    public int Frontends { get; init; } = 3;

    /// <summary>Concurrent workers (application requests) per frontend.</summary>
    public int WorkersPerFrontend { get; init; } = 3;

    /// <summary>Virtual time with faults and workload; the settling phase follows.</summary>
    public TimeSpan ActiveTime { get; init; } = TimeSpan.FromSeconds(6);

    /// <summary>Longest settling phase after the last fault (it ends earlier once every frontend has every server up).</summary>
    public TimeSpan MaxSettleTime { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>The shared view's bound B.</summary>
    public TimeSpan Bound { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Faults per world: each seed draws between 1 and this many.</summary>
    public int MaxFaults { get; init; } = 3;

    /// <summary>Mean think time between one worker's operations.</summary>
    public TimeSpan ThinkTime { get; init; } = TimeSpan.FromMilliseconds(60);

    /// <summary>Data keys (cache-aside), counter keys and IDistributedCache keys.</summary>
    public int DataKeys { get; init; } = 5;

    public int CounterKeys { get; init; } = 2;

    public int DistributedCacheKeys { get; init; } = 3;

    /// <summary>
    /// The share of operations that are batch calls (<c>GetManyAsync</c>, <c>SetManyAsync</c>, <c>DeleteManyAsync</c> of
    /// several data keys), 0 to 1. Default 0, which draws exactly the schedules of before batches existed (pinned seeds
    /// keep their histories); <c>ballast sim</c> turns it on (<c>--batch-ratio</c>).
    /// </summary>
    public double BatchRatio { get; init; }

    /// <summary>
    /// Whether the frontends check the server's start on each new connection (the library's default). Off is a control:
    /// it shows what the check prevents (a counter handed out again by a server that restarted behind a timeout).
    /// </summary>
    public bool DetectRestarts { get; init; } = true;

    /// <summary>Keep the frontends' log lines for the trace (slower; off for runs of many seeds).</summary>
    public bool CaptureLogs { get; init; }

    /// <summary>Also record every command on the pool's reserved keys (view records, locks) for the trace: a debugging aid.</summary>
    public bool CaptureViewCommands { get; init; }

    /// <summary>Also record every command on this application key for the trace, with the values: a debugging aid.</summary>
    public string? TracedKey { get; init; }
}
