namespace Ballast.Cli.Chaos;

/// <summary>A stale read and the write it missed.</summary>
/// <param name="Read">The read.</param>
/// <param name="Missed">The oldest completed write it missed (by completion time).</param>
/// <param name="NewestVersion">The newest version completed before the read began.</param>
/// <param name="StalenessMs">Read start minus the completion of <paramref name="Missed"/>.</param>
/// <param name="BeyondBound">True when the staleness exceeds the bound (always, when there is no bound).</param>
public readonly record struct StaleRead(ReadRecord Read, WriteRecord Missed, long NewestVersion, double StalenessMs, bool BeyondBound)
{
    /// <summary>The version of the oldest write it missed.</summary>
    public long MissedVersion => Missed.Version;

    /// <summary>When that write's invalidation returned, ms.</summary>
    public double MissedWriteEndMs => Missed.EndMs;
}

/// <summary>What the checker found in a history.</summary>
public sealed class StalenessResult
{
    /// <summary>Reads checked.</summary>
    public int Reads { get; init; }

    /// <summary>Reads served by the cache.</summary>
    public int Hits { get; init; }

    /// <summary>Reads served by the database after a miss.</summary>
    public int DbReads { get; init; }

    /// <summary>Every stale read, in read order.</summary>
    public IReadOnlyList<StaleRead> Stale { get; init; } = [];

    /// <summary>Stale reads whose staleness exceeds the bound.</summary>
    public int StaleBeyondBound => Stale.Count(s => s.BeyondBound);

    /// <summary>The largest staleness, in ms; 0 when no read was stale.</summary>
    public double MaxStalenessMs => Stale.Count == 0 ? 0 : Stale.Max(s => s.StalenessMs);
}

/// <summary>
/// Decides which reads were stale. A read is stale when it returned a version older than the newest version whose
/// write had completed (its invalidation returned, with success or error) before the read began. Its staleness is
/// the time from the completion of the oldest write it missed to the read's start; it is beyond the bound when that
/// exceeds the bound (every stale read is, when there is no bound, as under Rehash). Writes still in flight when a
/// read begins never make it stale: the application cannot expect to see them.
/// </summary>
public static class StalenessChecker
{
    /// <summary>Checks a history.</summary>
    /// <param name="reads">The reads, in any order.</param>
    /// <param name="writes">The writes, in any order.</param>
    /// <param name="bound">The bound; null when the policy promises none.</param>
    public static StalenessResult Check(IEnumerable<ReadRecord> reads, IEnumerable<WriteRecord> writes, TimeSpan? bound)
    {
        ArgumentNullException.ThrowIfNull(reads);
        ArgumentNullException.ThrowIfNull(writes);
        var boundMs = bound?.TotalMilliseconds;

        // Per key: completed writes ordered by completion, with the running maximum of their versions.
        var byKey = new Dictionary<int, KeyWrites>();
        foreach (var group in writes.Where(w => !double.IsInfinity(w.EndMs)).GroupBy(w => w.Key))
        {
            var ordered = group.OrderBy(w => w.EndMs).ToArray();
            var ends = new double[ordered.Length];
            var prefixMax = new long[ordered.Length];
            var max = long.MinValue;
            for (var i = 0; i < ordered.Length; i++)
            {
                ends[i] = ordered[i].EndMs;
                max = Math.Max(max, ordered[i].Version);
                prefixMax[i] = max;
            }

            byKey[group.Key] = new KeyWrites(ordered, ends, prefixMax);
        }

        var stale = new List<StaleRead>();
        int count = 0, hits = 0;
        foreach (var read in reads.OrderBy(r => r.StartMs))
        {
            count++;
            hits += read.Hit ? 1 : 0;
            if (!byKey.TryGetValue(read.Key, out var kw))
            {
                continue;
            }

            // Writes that completed strictly before the read began: ends[0..n).
            var n = LowerBound(kw.Ends, read.StartMs);
            if (n == 0 || kw.PrefixMax[n - 1] <= read.Version)
            {
                continue;
            }

            // The oldest completed write it missed: the first by completion with a version above the read's.
            for (var i = 0; i < n; i++)
            {
                var w = kw.Ordered[i];
                if (w.Version > read.Version)
                {
                    var staleness = read.StartMs - w.EndMs;
                    var beyond = boundMs is not { } b || staleness > b;
                    stale.Add(new StaleRead(read, w, kw.PrefixMax[n - 1], staleness, beyond));
                    break;
                }
            }
        }

        return new StalenessResult { Reads = count, Hits = hits, DbReads = count - hits, Stale = stale };
    }

    /// <summary>The number of entries of <paramref name="sorted"/> strictly less than <paramref name="value"/>.</summary>
    private static int LowerBound(double[] sorted, double value)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (sorted[mid] < value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private sealed record KeyWrites(WriteRecord[] Ordered, double[] Ends, long[] PrefixMax);
}
