namespace Ballast.Cli.Chaos;

/// <summary>The faults the chaos checker injects.</summary>
public enum FaultKind
{
    /// <summary>kill -9 a server; restart it later with an empty cache.</summary>
    Kill,

    /// <summary>SIGSTOP a server, later SIGCONT (the kernel queues requests; the server applies them on resume).</summary>
    Pause,

    /// <summary>Every frontend's link to one server drops packets; the server keeps its data.</summary>
    Blackhole,

    /// <summary>One frontend's link to one server drops packets; the other frontends still reach it.</summary>
    Partition,

    /// <summary>One frontend's link to one server delays bytes beyond the operation timeout.</summary>
    Slow,

    /// <summary>Every frontend's link to one server goes down and up every flap period.</summary>
    Flap,

    /// <summary>
    /// One frontend's links to every server but one are slowed, below the operation timeout (<see cref="ChaosOptions.LagLatency"/>
    /// each way): nothing times out, so nothing is detected or fenced, but the frontend's view reads take longer and
    /// its lease lapses now and then.
    /// </summary>
    Lag,

    /// <summary>One frontend loses every link (every server and the gutter) for the window: a network blip of that host.</summary>
    Blip,

    /// <summary>
    /// A server restarted while a refill lease of it is out: one frontend takes a lease on a key of the server and reads
    /// the database, the server is killed, another frontend writes and deletes, the server restarts empty and is
    /// readmitted, its CAS counter is brought round so a new placeholder of the key gets the old lease's CAS, and
    /// the first frontend refills under its old lease. Every frontend then reads the key, checked like any read.
    /// </summary>
    Restart,

    /// <summary>
    /// One frontend's timers are held for the window (<see cref="FrontendClock"/>): its background loop sleeps through
    /// it, so no view read starts and its lease lapses, while its requests still go out and come back. A host with a
    /// starved thread pool or a long pause; its operations wait for the view read that renews the lease.
    /// </summary>
    Stall,
}

/// <summary>Parsing and naming of fault kinds and policies, as written on the command line.</summary>
public static class ChaosNames
{
    /// <summary>The lower-case name of a fault.</summary>
    public static string Name(this FaultKind kind) => kind.ToString().ToLowerInvariant();

    /// <summary>The lower-case name of a policy.</summary>
    public static string Name(this FailoverPolicy policy) => policy.ToString().ToLowerInvariant();

    /// <summary>Parses a comma-separated list of faults.</summary>
    /// <exception cref="ArgumentException">An unknown name.</exception>
    public static IReadOnlyList<FaultKind> ParseFaults(string text) => ParseList<FaultKind>(text, "--faults");

    /// <summary>Parses a comma-separated list of policies.</summary>
    /// <exception cref="ArgumentException">An unknown name.</exception>
    public static IReadOnlyList<FailoverPolicy> ParsePolicies(string text) => ParseList<FailoverPolicy>(text, "--policy");

    /// <summary>Parses <c>30s</c>, <c>1500ms</c>, <c>2m</c> or a plain number of seconds.</summary>
    /// <exception cref="ArgumentException">Not a duration.</exception>
    public static TimeSpan ParseDuration(string text, string option)
    {
        ArgumentNullException.ThrowIfNull(text);
        var t = text.Trim().ToLowerInvariant();
        (string number, double scale) = t.EndsWith("ms", StringComparison.Ordinal) ? (t[..^2], 0.001)
            : t.EndsWith('s') ? (t[..^1], 1.0)
            : t.EndsWith('m') ? (t[..^1], 60.0)
            : (t, 1.0);
        if (!double.TryParse(number, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value) || value < 0 || double.IsInfinity(value))
        {
            throw new ArgumentException($"The option {option} must be a duration such as 30s, 1500ms or 2m; got '{text}'.", option);
        }

        return TimeSpan.FromSeconds(value * scale);
    }

    private static IReadOnlyList<T> ParseList<T>(string text, string option)
        where T : struct, Enum
    {
        ArgumentNullException.ThrowIfNull(text);
        var list = new List<T>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Enum.TryParse<T>(part, ignoreCase: true, out var value) || !Enum.IsDefined(value) || int.TryParse(part, out _))
            {
                var known = string.Join(", ", Enum.GetNames<T>().Select(n => n.ToLowerInvariant()));
                throw new ArgumentException($"The option {option} has an unknown value '{part}'; known: {known}.", option);
            }

            if (!list.Contains(value))
            {
                list.Add(value);
            }
        }

        return list;
    }
}
