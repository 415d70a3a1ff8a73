namespace Ballast.Cli.Chaos;

/// <summary>
/// How the frontend a fault hit fared during the fault's window, beside the others: a partition or a blip costs it
/// hits (misses, never stale reads), a stall must not (its operations wait for the view read that renews its lease).
/// </summary>
/// <param name="Window">The window, as the schedule describes it.</param>
/// <param name="Frontend">The frontend the fault hit.</param>
/// <param name="Reads">Its reads that began in the window.</param>
/// <param name="Hits">Those that hit.</param>
/// <param name="OtherReads">The other frontends' reads that began in the window.</param>
/// <param name="OtherHits">Those that hit.</param>
public sealed record FaultWindowHits(string Window, int Frontend, int Reads, int Hits, int OtherReads, int OtherHits)
{
    /// <summary>Its hits over its reads (0 without reads).</summary>
    public double HitRatio => Reads == 0 ? 0 : (double)Hits / Reads;

    /// <summary>The other frontends' hits over their reads (0 without reads).</summary>
    public double OtherHitRatio => OtherReads == 0 ? 0 : (double)OtherHits / OtherReads;

    /// <summary>The window's reads by the frontend the fault hit and by the others.</summary>
    internal static FaultWindowHits Of(FaultEvent fault, IReadOnlyList<ReadRecord> reads)
    {
        var frontend = fault.Window.Frontend ?? throw new ArgumentException("The fault hits no single frontend.", nameof(fault));
        var inWindow = reads.Where(r => r.StartMs >= fault.StartMs && r.StartMs < fault.EndMs).ToList();
        var own = inWindow.Where(r => r.Frontend == frontend).ToList();
        var others = inWindow.Where(r => r.Frontend != frontend).ToList();
        return new FaultWindowHits(FaultSchedule.Describe(fault.Window), frontend, own.Count, own.Count(r => r.Hit), others.Count, others.Count(r => r.Hit));
    }
}
