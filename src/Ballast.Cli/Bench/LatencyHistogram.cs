using System.Diagnostics;
using System.Numerics;

namespace Ballast.Cli.Bench;

/// <summary>
/// A log-linear latency histogram in the spirit of HdrHistogram: exact below 128 ns, then 64 buckets per power of two
/// (relative error under 1%). One per worker, recorded without locks, merged at the end.
/// </summary>
internal sealed class LatencyHistogram
{
    private const int SubBucketBits = 6;
    private const int SubBuckets = 1 << SubBucketBits;
    private const int BucketCount = SubBuckets * (64 - SubBucketBits + 1);

    private readonly long[] _counts = new long[BucketCount];

    public long Count { get; private set; }

    /// <summary>The largest value recorded, exactly.</summary>
    public long MaxNanoseconds { get; private set; }

    /// <summary>Records one latency given as two <see cref="Stopwatch.GetTimestamp"/> readings.</summary>
    public void RecordTimestamps(long start, long end)
        => Record((long)((end - start) * (1_000_000_000.0 / Stopwatch.Frequency)));

    /// <summary>Records one latency in nanoseconds.</summary>
    public void Record(long nanoseconds)
    {
        if (nanoseconds < 0)
        {
            nanoseconds = 0;
        }

        _counts[IndexOf(nanoseconds)]++;
        Count++;
        if (nanoseconds > MaxNanoseconds)
        {
            MaxNanoseconds = nanoseconds;
        }
    }

    public void Add(LatencyHistogram other)
    {
        for (var i = 0; i < BucketCount; i++)
        {
            _counts[i] += other._counts[i];
        }

        Count += other.Count;
        MaxNanoseconds = Math.Max(MaxNanoseconds, other.MaxNanoseconds);
    }

    public void Reset()
    {
        Array.Clear(_counts);
        Count = 0;
        MaxNanoseconds = 0;
    }

    /// <summary>The value at <paramref name="percentile"/> (0..100): the middle of the bucket holding that rank.</summary>
    public long PercentileNanoseconds(double percentile)
    {
        if (Count == 0)
        {
            return 0;
        }

        var rank = (long)Math.Ceiling(percentile / 100.0 * Count);
        rank = Math.Clamp(rank, 1, Count);
        long seen = 0;
        for (var i = 0; i < BucketCount; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                return Math.Min(MidpointOf(i), MaxNanoseconds);
            }
        }

        return MaxNanoseconds;
    }

    public double PercentileMilliseconds(double percentile) => PercentileNanoseconds(percentile) / 1e6;

    internal static int IndexOf(long value)
    {
        if (value < 2 * SubBuckets)
        {
            return (int)value;
        }

        var exponent = (63 - BitOperations.LeadingZeroCount((ulong)value)) - SubBucketBits;
        return ((exponent + 1) * SubBuckets) + (int)(value >> exponent) - SubBuckets;
    }

    internal static long LowerBoundOf(int index)
    {
        if (index < 2 * SubBuckets)
        {
            return index;
        }

        var exponent = (index / SubBuckets) - 1;
        var mantissa = (long)((index % SubBuckets) + SubBuckets);
        return mantissa << exponent;
    }

    private static long MidpointOf(int index)
    {
        if (index < 2 * SubBuckets)
        {
            return index;
        }

        var exponent = (index / SubBuckets) - 1;
        return LowerBoundOf(index) + ((1L << exponent) >> 1);
    }
}
