using Ballast.Cli.Bench;

namespace Ballast.Tests.Bench;

/// <summary>The targets <c>ballast bench</c> checks, on hand-built figures: each passes and fails where it should.</summary>
public sealed class BenchTargetTests
{
    [Theory]
    [InlineData(1, 32)]
    [InlineData(10, 40)]
    [InlineData(100, 128)]
    [InlineData(1000, 1024)]
    public void A_byte_arrays_heap_size_is_header_length_and_data_rounded_to_8(int length, int expected)
    {
        Assert.Equal(expected, BenchRunner.ArrayBytes(length));
        Assert.Equal(expected, (int)MeasureArray(length));
    }

    [Theory]
    [InlineData(128.05, true)]
    [InlineData(152.0, false)]
    public void A_get_returning_its_value_may_allocate_only_the_value(double bytesPerGet, bool pass)
    {
        var report = Report(new BenchSettings { GetRatio = 1, ValueSize = 100 }, bytesPerGet);

        BenchRunner.EvaluateTargets(report);

        Assert.Equal(pass, Target(report, "beyond the returned value"));
    }

    [Theory]
    [InlineData(0.05, true)]
    [InlineData(24.0, false)]
    public void A_get_into_a_buffer_may_allocate_nothing(double bytesPerGet, bool pass)
    {
        var report = Report(new BenchSettings { GetRatio = 1, ValueSize = 100, IntoBuffer = true }, bytesPerGet);

        BenchRunner.EvaluateTargets(report);

        Assert.Equal(pass, Target(report, "IBufferWriter"));
    }

    [Theory]
    [InlineData(700_000, true)]
    [InlineData(500_000, false)]
    public void Concurrency_256_needs_30_percent_of_the_mgblast_ceiling(double opsPerSecond, bool pass)
    {
        var report = Report(new BenchSettings { Concurrency = 256 }, 100, opsPerSecond);
        report.MgblastKeysPerSecond = 2_000_000;

        BenchRunner.EvaluateTargets(report);

        Assert.Equal(pass, Target(report, "30% of mgblast"));
    }

    [Theory]
    [InlineData(100_000, 100_000, true)]
    [InlineData(100_000, 99_950, true)]
    [InlineData(100_000, 90_000, false)]
    public void Reads_that_miss_preloaded_keys_fail_the_run_so_a_lapsed_view_lease_cannot_pass_for_speed(long keysRead, long hits, bool pass)
    {
        var report = Report(new BenchSettings(), 100);
        report.Ballast = report.Ballast! with { KeysRead = keysRead, Hits = hits };

        BenchRunner.EvaluateTargets(report);

        Assert.Equal(pass, Target(report, "preloaded keys hit"));
    }

    private static BenchReport Report(BenchSettings settings, double allocBytesPerOp, double opsPerSecond = 100_000)
        => new()
        {
            Scenario = "test",
            Settings = settings,
            ServerCount = 1,
            Ballast = new LoadResult((long)opsPerSecond, 0, TimeSpan.FromSeconds(1), 1, 0.1, 0.2, 0.3, 1, allocBytesPerOp),
        };

    private static bool? Target(BenchReport report, string name) => Assert.Single(report.Targets, t => t.Name.Contains(name, StringComparison.Ordinal)).Pass;

    private static long MeasureArray(int length)
    {
        // Measured, not assumed: what this runtime allocates for one array of that length.
        var before = GC.GetAllocatedBytesForCurrentThread();
        var array = new byte[length];
        var after = GC.GetAllocatedBytesForCurrentThread();
        GC.KeepAlive(array);
        return after - before;
    }
}
