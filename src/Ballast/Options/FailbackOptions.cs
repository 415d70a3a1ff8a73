namespace Ballast;

/// <summary>How a server that comes back is readmitted: flushed once, by exactly one frontend, after a hold time.</summary>
public sealed class FailbackOptions
{
    /// <summary>
    /// How long a server must have been down before it is flushed and readmitted. Doubles for each earlier outage in
    /// <see cref="FlapWindow"/> (damping), up to <see cref="MaxHoldTime"/>. Default 1 s; 0 to 10 min.
    /// </summary>
    public TimeSpan MinimumDownTime { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Outages within this window count as flaps for damping. Default 60 s; 1 s to 1 h.</summary>
    public TimeSpan FlapWindow { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The longest hold time damping can reach. Default 30 s; at least <see cref="MinimumDownTime"/>.</summary>
    public TimeSpan MaxHoldTime { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Flush every server of the pool, not only the returning one, when a server is readmitted: the usual remedy for
    /// <see cref="FailoverPolicy.Rehash"/> pools, whose other servers hold copies of the returning server's keys.
    /// Default false.
    /// </summary>
    public bool FlushPoolOnFailback { get; set; }

    /// <summary>
    /// How long the failback lock (an <c>add</c> of a <c>last_failback</c> key on the returning server) lives, so a
    /// frontend that dies while holding it does not block failback for ever. Default 10 s; 1 s to 10 min.
    /// </summary>
    public TimeSpan LockTimeToLive { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Under <see cref="FailoverPolicy.Rehash"/>: how long a failed server is skipped before it is used again, as PECL's retry interval. Default 15 s.</summary>
    public TimeSpan RehashRetryInterval { get; set; } = TimeSpan.FromSeconds(15);

    internal void Validate()
    {
        OptionChecks.Range(MinimumDownTime, TimeSpan.Zero, TimeSpan.FromMinutes(10), nameof(MinimumDownTime));
        OptionChecks.Range(FlapWindow, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1), nameof(FlapWindow));
        OptionChecks.Range(MaxHoldTime, MinimumDownTime, TimeSpan.FromHours(1), nameof(MaxHoldTime));
        OptionChecks.Range(LockTimeToLive, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10), nameof(LockTimeToLive));
        OptionChecks.Range(RehashRetryInterval, TimeSpan.Zero, TimeSpan.FromHours(1), nameof(RehashRetryInterval));
    }

    /// <summary>A copy for a client's snapshot of its options.</summary>
    internal FailbackOptions Copy() => (FailbackOptions)MemberwiseClone();
}
