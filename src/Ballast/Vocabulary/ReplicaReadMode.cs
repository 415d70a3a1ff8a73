namespace Ballast;

/// <summary>How a replicated pool reads a key.</summary>
public enum ReplicaReadMode
{
    /// <summary>Read every readable replica; the value with the newest version wins, and a newer delete wins over older values. The default.</summary>
    NewestOfAll = 0,

    /// <summary>Read the first readable replica; fall back to the next on a failure. Cheaper; relies on fencing alone.</summary>
    FirstAvailable = 1,
}
