namespace Ballast.Cli.Chaos;

/// <summary>A server flushed more often than the outages it had: the sample at which it first went over.</summary>
/// <param name="Server">The main server's index.</param>
/// <param name="AtMs">When the flush that went over was seen, ms since the run started.</param>
/// <param name="Flushes">Its flushes by then, the pool's first start included.</param>
/// <param name="Allowed">What it was allowed by then: one for the pool's first start, one per fault that touched it.</param>
/// <param name="SeenAtMs">When each of its flushes by then was first seen (a sample's time, up to 100 ms late), ms.</param>
public sealed record ExcessFlush(int Server, double AtMs, long Flushes, int Allowed, IReadOnlyList<double> SeenAtMs);

/// <summary>A server flushed twice for one outage: two flushes by frontends for the same epoch of its record.</summary>
/// <param name="Server">The server's index.</param>
/// <param name="Epoch">The outage's epoch.</param>
/// <param name="Flushes">The flushes made for it.</param>
public sealed record RepeatedFlush(int Server, long Epoch, IReadOnlyList<FlushEvent> Flushes);

/// <summary>What the flush checks found.</summary>
/// <param name="Excess">
/// Servers flushed more often than once per fault that touched them (the first sample over, per server): not a broken
/// promise (a frontend cut off from a server while it deletes keys fences it once per round of deletes, and each such
/// outage is flushed once), but flushes an operator pays for in misses, so they are reported.
/// </param>
/// <param name="Unflushed">Readmissions (a frontend's ServerRecovered) that no flush of their server paid for.</param>
/// <param name="Unchecked">Servers left out of <paramref name="Excess"/>: a flap (several outages by design) touched them.</param>
/// <param name="Repeated">Outages whose server was flushed by two frontends: the failback lock failed.</param>
public sealed record FlushCheck(IReadOnlyList<ExcessFlush> Excess, IReadOnlyList<ClientEvent> Unflushed, IReadOnlyList<int> Unchecked, IReadOnlyList<RepeatedFlush>? Repeated = null);

/// <summary>
/// Checks memcached's own flush counts (<see cref="FlushMonitor"/>) against the faults and the frontends' readmissions:
/// <list type="bullet">
/// <item><b>No server flushed twice for one outage.</b> At every moment, a server has been flushed at most once for the
/// pool's first start (a brand-new pool is flushed once, fail closed) plus once per fault that had touched it by then
/// (<see cref="FaultWindow.Touches"/>). Counted cumulatively, so a flush that comes after the next fault began is
/// still paid for by its own. Flaps are several outages by design: servers they touch are not checked.</item>
/// <item><b>No readmission without a flush.</b> A frontend readmits a server only after a flush that follows the outage
/// it saw, and one flush pays for at most one readmission per frontend: each readmission takes the next flush of its
/// server that this frontend has not yet taken, seen by <see cref="Slack"/> after the readmission (the monitor reads
/// every 100 ms); a readmission with none left is unpaid.</item>
/// </list>
/// </summary>
public static class FlushChecker
{
    /// <summary>How late after a readmission a flush may be seen and still pay for it.</summary>
    public const double Slack = 500;

    /// <summary>Checks a run.</summary>
    /// <param name="samples">The flush counts, in time order.</param>
    /// <param name="faults">The faults as applied.</param>
    /// <param name="events">The clients' events; readmissions are those with <c>Failed</c> false.</param>
    /// <param name="servers">The main servers.</param>
    /// <param name="flushes">The frontends' flushes (their ServerFlushed events), for the one-flush-per-outage check.</param>
    public static FlushCheck Check(IReadOnlyList<FlushSample> samples, IReadOnlyList<FaultEvent> faults, IReadOnlyList<ClientEvent> events, int servers, IReadOnlyList<FlushEvent>? flushes = null)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(faults);
        ArgumentNullException.ThrowIfNull(events);
        var excess = new List<ExcessFlush>();
        var unchecked_ = new List<int>();
        var unflushed = new List<ClientEvent>();
        for (var s = 0; s < servers; s++)
        {
            var server = s;
            var mine = samples.Where(x => x.Server == server).OrderBy(x => x.AtMs).ToArray();
            var touching = faults.Where(f => f.Window.Touches(server)).Select(f => f.StartMs).Order().ToArray();
            if (faults.Any(f => f.Window.Kind == FaultKind.Flap && f.Window.Touches(server)))
            {
                unchecked_.Add(server);
            }
            else
            {
                foreach (var sample in mine)
                {
                    var allowed = 1 + touching.Count(start => start <= sample.AtMs);
                    if (sample.Flushes > allowed)
                    {
                        excess.Add(new ExcessFlush(server, sample.AtMs, sample.Flushes, allowed, SeenAt(mine, sample.AtMs)));
                        break;
                    }
                }
            }

            foreach (var frontend in events.Where(e => !e.Failed && e.Server == server).GroupBy(e => e.Frontend))
            {
                // Each readmission takes the next flush not yet taken by this frontend; one with none left is unpaid.
                var taken = 0L;
                foreach (var readmission in frontend.OrderBy(e => e.AtMs))
                {
                    var flushed = mine.Where(x => x.AtMs <= readmission.AtMs + Slack).Select(x => x.Flushes).DefaultIfEmpty(0).Max();
                    if (flushed > taken)
                    {
                        taken++;
                    }
                    else
                    {
                        unflushed.Add(readmission);
                    }
                }
            }
        }

        // No outage flushed by two frontends: one failback lock per outage epoch (and the recovery's lock) means one
        // flusher. (The holder flushes again for the same epoch when a fence touched the record during its failback: a
        // delete that failed after its flush began needs a flush after it. One frontend, and allowed.)
        var repeated = (flushes ?? [])
            .Where(f => f.Epoch > 0 && f.Reason is ServerFlushReason.Failback or ServerFlushReason.LostRecord)
            .GroupBy(f => (f.Server, f.Epoch))
            .Where(g => g.Select(f => f.Frontend).Distinct().Count() > 1)
            .Select(g => new RepeatedFlush(g.Key.Server, g.Key.Epoch, [.. g]))
            .ToArray();
        return new FlushCheck(excess, unflushed.OrderBy(e => e.AtMs).ToArray(), unchecked_, repeated);
    }

    /// <summary>For each flush up to <paramref name="until"/>, the time of the first sample that counted it.</summary>
    private static double[] SeenAt(FlushSample[] samples, double until)
    {
        var seen = new List<double>();
        var count = 0L;
        foreach (var sample in samples.Where(x => x.AtMs <= until))
        {
            for (; count < sample.Flushes; count++)
            {
                seen.Add(sample.AtMs);
            }
        }

        return seen.ToArray();
    }
}
