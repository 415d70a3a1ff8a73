namespace Ballast.Health;

/// <summary>
/// The states of <see cref="ServerHealth"/>. <see cref="Suspect"/> is internal detail: callers see it as
/// <see cref="ServerState.Up"/>, since a suspect server still serves.
/// </summary>
internal enum HealthState
{
    /// <summary>Serving.</summary>
    Up = 0,

    /// <summary>Serving, but its last requests timed out; the threshold's worth in a row marks it down.</summary>
    Suspect = 1,

    /// <summary>Down (locally or fenced through the shared view), in the outage of <see cref="ServerHealth.Epoch"/>.</summary>
    Down = 2,

    /// <summary>Down, with a probe under way.</summary>
    Probing = 3,

    /// <summary>Answering probes again, waiting for the failback (hold time, flush, readmission).</summary>
    Recovering = 4,
}
