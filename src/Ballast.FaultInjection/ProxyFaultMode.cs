namespace Ballast.FaultInjection;

/// <summary>What a <see cref="FaultProxy"/> does to the traffic between its clients and its server.</summary>
public enum ProxyFaultMode
{
    /// <summary>Forwards bytes both ways unchanged: a healthy link.</summary>
    Pass = 0,

    /// <summary>
    /// Accepts connections and keeps them open but drops every byte both ways, as a network partition that loses
    /// packets does: the client sees timeouts, never a reset. Bytes dropped stay dropped when the mode changes back.
    /// </summary>
    Blackhole = 1,

    /// <summary>Aborts every open connection with a TCP reset (RST) and resets each new one as soon as it is accepted.</summary>
    Reset = 2,

    /// <summary>Forwards bytes both ways, each chunk held back by <see cref="FaultProxy.Latency"/>, in order.</summary>
    Latency = 3,
}
