namespace Ballast.Simulation.Network;

/// <summary>
/// The network path between one frontend and one server: a latency distribution per direction, the faults on it
/// (partition one way or both, blackhole, added latency below the timeout, resets), and the connections that use it,
/// so that lifting a partition can release what it held.
/// </summary>
internal sealed class Link
{
    private readonly List<SimulatedConnection> _connections = [];

    public Link(int frontend, int server, long baseLatencyTicks, double jitter)
    {
        Frontend = frontend;
        Server = server;
        BaseLatencyTicks = baseLatencyTicks;
        Jitter = jitter;
    }

    public int Frontend { get; }

    public int Server { get; }

    /// <summary>One-way latency when healthy, in ticks.</summary>
    public long BaseLatencyTicks { get; }

    /// <summary>Mean of the exponential jitter added to each delivery, as a fraction of the base latency.</summary>
    public double Jitter { get; }

    /// <summary>Frontend to server.</summary>
    public LinkMode Up { get; set; }

    /// <summary>Server to frontend.</summary>
    public LinkMode Down { get; set; }

    /// <summary>What a slow fault adds on this link each way, drawn with the world: 250-450 ms, below the operation timeout.</summary>
    public long SlowLatencyTicks { get; init; } = 350 * TimeSpan.TicksPerMillisecond;

    /// <summary>Latency added each way (a slow link), in ticks.</summary>
    public long ExtraLatencyTicks { get; set; }

    /// <summary>While set, every connection on the link is reset as soon as it is made.</summary>
    public bool Resetting { get; set; }

    public IReadOnlyList<SimulatedConnection> Connections => _connections;

    public void Attach(SimulatedConnection connection) => _connections.Add(connection);

    public void Detach(SimulatedConnection connection) => _connections.Remove(connection);

    /// <summary>One delivery's delay: the base, the slow fault's extra, and exponential jitter (with rare spikes).</summary>
    public long SampleLatency(Random random)
    {
        var jitter = -Math.Log(1 - random.NextDouble()) * Jitter * BaseLatencyTicks;
        var spike = random.NextDouble() < 0.002 ? random.Next(5, 40) * TimeSpan.TicksPerMillisecond : 0;
        return BaseLatencyTicks + ExtraLatencyTicks + (long)jitter + spike;
    }
}
