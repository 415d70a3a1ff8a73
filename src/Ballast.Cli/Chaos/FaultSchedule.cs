namespace Ballast.Cli.Chaos;

/// <summary>One planned fault: what, on which server (and, for one-link faults, which frontend's link), and when.</summary>
/// <param name="Kind">The fault.</param>
/// <param name="Server">The main server it hits (0-based).</param>
/// <param name="Frontend">The frontend whose links it hits (partition, slow, lag, blip), whose timers it holds (stall) or whose lease outlives the restart (restart); null when it hits every frontend.</param>
/// <param name="Start">Offset from the start of the run.</param>
/// <param name="End">Offset at which it is lifted.</param>
public sealed record FaultWindow(FaultKind Kind, int Server, int? Frontend, TimeSpan Start, TimeSpan End)
{
    /// <summary>
    /// Whether the fault can cost <paramref name="server"/> an outage, and so one flush: a blip takes every server away
    /// from its frontend, a stall holds its frontend's timeouts until they all fire at once, a lag slows the links to every
    /// server but the window's, every other fault hits the window's server.
    /// </summary>
    public bool Touches(int server) => Kind switch
    {
        FaultKind.Blip or FaultKind.Stall => true,
        FaultKind.Lag => server != Server,
        _ => server == Server,
    };
}

/// <summary>
/// The faults of a run, drawn from the seed: after a warm-up, fault windows alternate with healthy gaps, cycling
/// through the requested kinds in a seeded order, each on a seeded server; a healthy tail ends the run. Every policy
/// of one invocation gets the same schedule.
/// </summary>
public sealed class FaultSchedule
{
    private FaultSchedule(IReadOnlyList<FaultWindow> windows) => Windows = windows;

    /// <summary>The windows, in time order; they never overlap.</summary>
    public IReadOnlyList<FaultWindow> Windows { get; }

    /// <summary>Builds the schedule of <paramref name="options"/>.</summary>
    public static FaultSchedule Create(ChaosOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var random = new Random(options.Seed);
        var kinds = options.Faults.ToArray();
        random.Shuffle(kinds);
        var windows = new List<FaultWindow>();
        var at = options.Warmup;
        var lastEnd = options.Duration - options.Tail;
        var length = options.FaultLength;
        // A run too short for one full window still gets one, shortened, so a short test exercises a fault.
        if (at + length > lastEnd && windows.Count == 0)
        {
            length = lastEnd - at;
        }

        for (var i = 0; length > TimeSpan.Zero && at + length <= lastEnd; i++)
        {
            var kind = kinds[i % kinds.Length];
            var server = random.Next(options.Servers);
            int? frontend = kind is FaultKind.Partition or FaultKind.Slow or FaultKind.Lag or FaultKind.Blip or FaultKind.Restart or FaultKind.Stall ? random.Next(options.Frontends) : null;
            windows.Add(new FaultWindow(kind, server, frontend, at, at + length));
            at += length + options.HealthyGap;
        }

        return new FaultSchedule(windows);
    }

    /// <summary>One line per window, for the output.</summary>
    public override string ToString() => string.Join(Environment.NewLine, Windows.Select(Describe));

    /// <summary>Describes a window: <c>2.5-5.0 s  partition  server 1, frontend 0's link</c>.</summary>
    public static string Describe(FaultWindow w)
    {
        ArgumentNullException.ThrowIfNull(w);
        var target = (w.Kind, w.Frontend) switch
        {
            (FaultKind.Blip, { } f) => $"every link of frontend {f}",
            (FaultKind.Stall, { } f) => $"frontend {f}'s timers (its background loop, delays and timeouts)",
            (FaultKind.Lag, { } f) => $"frontend {f}'s links to every server but {w.Server}",
            (FaultKind.Restart, { } f) => $"server {w.Server}, a refill lease of frontend {f} out",
            (_, { } f) => $"server {w.Server}, frontend {f}'s link",
            _ => $"server {w.Server}",
        };
        return FormattableString.Invariant($"{w.Start.TotalSeconds:0.0}-{w.End.TotalSeconds:0.0} s  {w.Kind.Name(),-9}  {target}");
    }
}
