namespace Ballast.Pool;

/// <summary>What this frontend remembers about a server's current outage, beside its failure detector.</summary>
internal sealed class NodeRecoveryState
{
    /// <summary>The shared-view epoch of the outage this frontend last saw or published for the server.</summary>
    public long DownEpoch { get; set; }

    /// <summary>A fence this frontend owes the shared view: set until a quorum holds it.</summary>
    public bool PublishPending { get; set; }

    /// <summary>A probe succeeded since the server went down: it is reachable and waits for readmission.</summary>
    public bool Reachable { get; set; }

    /// <summary>A probe or failback step is running for this server.</summary>
    public int Busy;
}
