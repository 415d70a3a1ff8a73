namespace Ballast.Simulation.Faults;

/// <summary>The faults a simulated world can suffer.</summary>
internal enum FaultKind
{
    /// <summary>kill -9 a server; it restarts empty (CAS from 1) when the fault ends.</summary>
    Kill,

    /// <summary>SIGSTOP a server; SIGCONT at the end (what queued is applied then).</summary>
    Pause,

    /// <summary>Every frontend's link to a server drops every byte both ways.</summary>
    Blackhole,

    /// <summary>One frontend's link to a server holds every byte both ways (TCP retransmits when it lifts).</summary>
    Partition,

    /// <summary>One frontend's link to a server holds bytes one way only.</summary>
    OneWayPartition,

    /// <summary>One frontend's link to a server gets 250-450 ms more latency each way (below the operation timeout).</summary>
    Slow,

    /// <summary>One frontend's link to a server resets its connections, and every new one, while the fault lasts.</summary>
    Reset,

    /// <summary>One frontend loses every link at once for a few seconds (issue 16's blip).</summary>
    Blip,

    /// <summary>An operator runs <c>flush_all</c> on a server (an instant).</summary>
    OperatorFlush,

    /// <summary>Memory pressure evicts a server's least recently used items (an instant).</summary>
    Evict,
}
