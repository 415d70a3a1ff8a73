using Ballast.Cli.Bench;

namespace Ballast.Tests.Bench;

public class LatencyHistogramTests
{
    [Fact]
    public void Percentiles_of_1_to_10000_microseconds_are_within_one_percent()
    {
        var histogram = new LatencyHistogram();
        for (var us = 1; us <= 10_000; us++)
        {
            histogram.Record(us * 1000L);
        }

        Assert.Equal(10_000, histogram.Count);
        AssertClose(5_000_000, histogram.PercentileNanoseconds(50));
        AssertClose(9_900_000, histogram.PercentileNanoseconds(99));
        AssertClose(9_990_000, histogram.PercentileNanoseconds(99.9));
        Assert.Equal(10_000_000, histogram.MaxNanoseconds);
        Assert.Equal(10_000_000, histogram.PercentileNanoseconds(100));
    }

    [Fact]
    public void A_rare_slow_operation_shows_in_p999_but_not_p99()
    {
        var histogram = new LatencyHistogram();
        for (var i = 0; i < 998; i++)
        {
            histogram.Record(100_000);
        }

        histogram.Record(50_000_000);
        histogram.Record(50_000_000);
        AssertClose(100_000, histogram.PercentileNanoseconds(99));
        AssertClose(50_000_000, histogram.PercentileNanoseconds(99.9));
    }

    [Fact]
    public void Merging_adds_counts_and_keeps_the_max()
    {
        var a = new LatencyHistogram();
        var b = new LatencyHistogram();
        a.Record(1_000);
        b.Record(3_000_000);
        b.Record(3_000_000);
        a.Add(b);
        Assert.Equal(3, a.Count);
        Assert.Equal(3_000_000, a.MaxNanoseconds);
        AssertClose(3_000_000, a.PercentileNanoseconds(50));
    }

    [Fact]
    public void Bucket_bounds_are_continuous_and_contain_their_values()
    {
        foreach (var value in new long[] { 0, 1, 127, 128, 129, 255, 256, 1_000, 123_456_789, 1L << 40 })
        {
            var index = LatencyHistogram.IndexOf(value);
            Assert.True(LatencyHistogram.LowerBoundOf(index) <= value, $"{value} below its bucket");
            Assert.True(LatencyHistogram.LowerBoundOf(index + 1) > value, $"{value} above its bucket");
        }
    }

    private static void AssertClose(long expected, long actual)
        => Assert.True(Math.Abs(actual - expected) <= expected / 100.0, $"expected {expected} ns within 1%, got {actual}");
}
