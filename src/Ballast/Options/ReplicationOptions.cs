namespace Ballast;

/// <summary>How a pool replicates under <see cref="FailoverPolicy.Replicated"/>.</summary>
public sealed class ReplicationOptions
{
    /// <summary>How many distinct servers hold each key (R). Default 2; 2 to the number of servers.</summary>
    public int Replicas { get; set; } = 2;

    /// <summary>How reads pick among replicas. Default <see cref="ReplicaReadMode.NewestOfAll"/>.</summary>
    public ReplicaReadMode ReadMode { get; set; } = ReplicaReadMode.NewestOfAll;

    /// <summary>How long a delete's tombstone (a versioned "deleted" marker) lives on the replicas. Default 60 s; 1 s to 1 day.</summary>
    public TimeSpan TombstoneTimeToLive { get; set; } = TimeSpan.FromSeconds(60);

    internal void Validate(FailoverPolicy policy, int serverCount)
    {
        OptionChecks.Range(TombstoneTimeToLive, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1), nameof(TombstoneTimeToLive));
        if (policy == FailoverPolicy.Replicated)
        {
            OptionChecks.Range(Replicas, 2, Math.Max(2, serverCount), nameof(Replicas));
            if (serverCount < Replicas)
            {
                throw new ArgumentException($"The Replicated policy with {Replicas} replicas needs at least {Replicas} servers; the pool has {serverCount}.", nameof(Replicas));
            }
        }
    }

    /// <summary>A copy for a client's snapshot of its options.</summary>
    internal ReplicationOptions Copy() => (ReplicationOptions)MemberwiseClone();
}
