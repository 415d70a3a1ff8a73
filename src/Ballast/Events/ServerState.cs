namespace Ballast;

/// <summary>A server's state as one frontend sees it.</summary>
public enum ServerState
{
    /// <summary>Serving reads and writes.</summary>
    Up = 0,

    /// <summary>Marked down (by this frontend or, through the shared view, by another); its operations fail fast and its keys follow the failover policy.</summary>
    Down = 1,

    /// <summary>Down, with a probe under way.</summary>
    Probing = 2,

    /// <summary>Reachable again, but not readmitted yet: waiting for the hold time or for the flush that must come before any read.</summary>
    Recovering = 3,
}
