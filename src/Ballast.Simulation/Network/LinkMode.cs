namespace Ballast.Simulation.Network;

/// <summary>What one direction of a link does with the bytes sent over it.</summary>
internal enum LinkMode
{
    /// <summary>Delivered after the link's latency, in order.</summary>
    Pass,

    /// <summary>
    /// A partition: held, as TCP holds unacknowledged data and retransmits it, and delivered in order when the
    /// direction passes again (unless the sender closed the connection meanwhile, which discards them).
    /// </summary>
    Hold,

    /// <summary>A blackhole: dropped, and dropped for good (as the chaos proxy drops them).</summary>
    Drop,
}
