namespace Ballast.FaultInjection;

/// <summary>The proxy's mode and latency, swapped as one reference so a pump never sees a mode with another mode's latency.</summary>
internal sealed record ProxyFaultState(ProxyFaultMode Mode, TimeSpan Latency);
