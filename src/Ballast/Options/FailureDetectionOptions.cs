namespace Ballast;

/// <summary>How a frontend decides that a server is down, and how it probes a down server.</summary>
public sealed class FailureDetectionOptions
{
    /// <summary>Consecutive timeouts that mark a server down (a refused or reset connection marks it down at once). Default 3; 1 to 100.</summary>
    public int ConsecutiveTimeouts { get; set; } = 3;

    /// <summary>First wait before probing a down server with <c>version</c>. Default 500 ms; 10 ms to 10 min.</summary>
    public TimeSpan ProbeInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Each failed probe multiplies the wait by this. Default 1.5; 1 to 10.</summary>
    public double ProbeBackoffMultiplier { get; set; } = 1.5;

    /// <summary>The longest wait between probes. Default 10 s; at least <see cref="ProbeInterval"/>.</summary>
    public TimeSpan MaxProbeInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Random spread added to each wait, as a fraction of it, so frontends do not probe in step. Default 0.2; 0 to 1.</summary>
    public double ProbeJitter { get; set; } = 0.2;

    /// <summary>
    /// Whether each new connection checks, with a <c>stats</c> sent ahead of its first request in the same send, that it
    /// reached the same life of the server as this frontend's earlier connections (<c>pid</c> and start time). A server
    /// that restarted with no reset seen (its old connection closed after a timeout) is empty, and a counter on it would
    /// start again: the server is marked down (<see cref="ServerFailureReason.Restarted"/>) and the requests on that
    /// connection fail. Default true. Turn it off only for a server whose <c>stats</c> answer is an error (a proxy that
    /// does not pass it on): every new connection to it would be closed. A <c>stats</c> answer without <c>pid</c> or
    /// <c>time</c> is not checked.
    /// </summary>
    public bool DetectRestarts { get; set; } = true;

    internal void Validate()
    {
        OptionChecks.Range(ConsecutiveTimeouts, 1, 100, nameof(ConsecutiveTimeouts));
        OptionChecks.Range(ProbeInterval, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(10), nameof(ProbeInterval));
        OptionChecks.Range(ProbeBackoffMultiplier, 1, 10, nameof(ProbeBackoffMultiplier));
        OptionChecks.Range(MaxProbeInterval, ProbeInterval, TimeSpan.FromHours(1), nameof(MaxProbeInterval));
        OptionChecks.Range(ProbeJitter, 0, 1, nameof(ProbeJitter));
    }

    /// <summary>A copy for a client's snapshot of its options.</summary>
    internal FailureDetectionOptions Copy() => (FailureDetectionOptions)MemberwiseClone();
}
