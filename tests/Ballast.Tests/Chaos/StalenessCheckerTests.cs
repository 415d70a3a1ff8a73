using Ballast.Cli.Chaos;

namespace Ballast.Tests.Chaos;

/// <summary>
/// The checker on hand-built histories: it must flag exactly the reads the stale-read definition calls stale, and
/// measure their staleness from the oldest write they missed.
/// </summary>
public sealed class StalenessCheckerTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(1);

    private static WriteRecord Write(long version, double start, double end, int key = 0, bool failed = false) => new(0, key, version, start, end, failed);

    private static ReadRecord Read(long version, double start, int key = 0, bool hit = true, int frontend = 1) => new(frontend, key, version, start, start + 1, hit);

    [Fact]
    public void A_read_of_the_newest_completed_version_is_not_stale()
    {
        var result = StalenessChecker.Check([Read(1, 200)], [Write(1, 0, 100)], Bound);
        Assert.Empty(result.Stale);
        Assert.Equal(1, result.Reads);
        Assert.Equal(1, result.Hits);
    }

    [Fact]
    public void A_read_older_than_a_completed_write_is_stale_within_the_bound()
    {
        var result = StalenessChecker.Check([Read(0, 600)], [Write(1, 0, 100)], Bound);
        var stale = Assert.Single(result.Stale);
        Assert.Equal(500, stale.StalenessMs);
        Assert.False(stale.BeyondBound);
        Assert.Equal(0, result.StaleBeyondBound);
    }

    [Fact]
    public void A_read_older_than_a_completed_write_is_beyond_the_bound_after_B()
    {
        var result = StalenessChecker.Check([Read(0, 1200)], [Write(1, 0, 100)], Bound);
        var stale = Assert.Single(result.Stale);
        Assert.Equal(1100, stale.StalenessMs);
        Assert.True(stale.BeyondBound);
        Assert.Equal(1, result.StaleBeyondBound);
        Assert.Equal(1100, result.MaxStalenessMs);
    }

    [Fact]
    public void A_write_not_yet_completed_when_the_read_began_does_not_make_it_stale()
    {
        // The delete returns at 500, after the read began at 300: the read may return either version.
        var result = StalenessChecker.Check([Read(0, 300)], [Write(1, 0, 500)], Bound);
        Assert.Empty(result.Stale);
    }

    [Fact]
    public void A_write_completing_exactly_when_the_read_begins_does_not_count()
    {
        var result = StalenessChecker.Check([Read(0, 500)], [Write(1, 0, 500)], Bound);
        Assert.Empty(result.Stale);
    }

    [Fact]
    public void A_write_whose_delete_threw_still_completes()
    {
        var result = StalenessChecker.Check([Read(0, 2000)], [Write(1, 0, 100, failed: true)], Bound);
        Assert.True(Assert.Single(result.Stale).BeyondBound);
    }

    [Fact]
    public void A_write_that_never_returned_never_completes()
    {
        var result = StalenessChecker.Check([Read(0, 2000)], [Write(1, 0, double.PositiveInfinity)], Bound);
        Assert.Empty(result.Stale);
    }

    [Fact]
    public void Staleness_is_measured_from_the_oldest_missed_write()
    {
        // v1 done at 100, v2 done at 1500; a read of v0 at 1600 missed both, and has been stale since 100.
        var result = StalenessChecker.Check([Read(0, 1600)], [Write(1, 0, 100), Write(2, 1400, 1500)], Bound);
        var stale = Assert.Single(result.Stale);
        Assert.Equal(1, stale.MissedVersion);
        Assert.Equal(2, stale.NewestVersion);
        Assert.Equal(1500, stale.StalenessMs);
        Assert.True(stale.BeyondBound);
    }

    [Fact]
    public void A_read_that_missed_only_the_latest_write_is_measured_from_it()
    {
        // A read of v1 at 1600 missed only v2 (done at 1500): 100 ms, within the bound.
        var result = StalenessChecker.Check([Read(1, 1600)], [Write(1, 0, 100), Write(2, 1400, 1500)], Bound);
        var stale = Assert.Single(result.Stale);
        Assert.Equal(2, stale.MissedVersion);
        Assert.Equal(100, stale.StalenessMs);
        Assert.False(stale.BeyondBound);
    }

    [Fact]
    public void Writes_completing_out_of_version_order_use_the_newest_completed_version()
    {
        // v2's delete returns first (at 100); v1's later (at 300). A read of v1 at 400 missed v2.
        var result = StalenessChecker.Check([Read(1, 400)], [Write(2, 50, 100), Write(1, 0, 300)], Bound);
        var stale = Assert.Single(result.Stale);
        Assert.Equal(2, stale.MissedVersion);
        Assert.Equal(300, stale.StalenessMs);
    }

    [Fact]
    public void Database_reads_are_checked_too()
    {
        var result = StalenessChecker.Check([Read(0, 1500, hit: false)], [Write(1, 0, 100)], Bound);
        Assert.Single(result.Stale);
        Assert.Equal(1, result.DbReads);
        Assert.Equal(0, result.Hits);
    }

    [Fact]
    public void Keys_are_independent()
    {
        var result = StalenessChecker.Check([Read(0, 1500, key: 1)], [Write(1, 0, 100, key: 0)], Bound);
        Assert.Empty(result.Stale);
    }

    [Fact]
    public void Without_a_bound_every_stale_read_is_beyond_it()
    {
        var result = StalenessChecker.Check([Read(0, 150)], [Write(1, 0, 100)], bound: null);
        Assert.True(Assert.Single(result.Stale).BeyondBound);
    }

    [Fact]
    public void A_newer_version_than_any_completed_write_is_not_stale()
    {
        // The read saw v2 while v2's delete was still running: fresher than required.
        var result = StalenessChecker.Check([Read(2, 400)], [Write(1, 0, 100), Write(2, 300, 900)], Bound);
        Assert.Empty(result.Stale);
    }

    [Fact]
    public void Counts_every_read_and_flags_only_the_stale_ones()
    {
        var writes = new[] { Write(1, 0, 100), Write(2, 2000, 2100) };
        var reads = new[] { Read(0, 50), Read(1, 150), Read(0, 300), Read(1, 2500), Read(0, 3000), Read(2, 3000) };
        var result = StalenessChecker.Check(reads, writes, Bound);
        Assert.Equal(6, result.Reads);
        Assert.Equal([300.0, 2500.0, 3000.0], result.Stale.Select(s => s.Read.StartMs));
        Assert.Equal([false, false, true], result.Stale.Select(s => s.BeyondBound));
    }
}

public sealed class ChaosPartsTests
{
    [Fact]
    public void The_schedule_is_a_function_of_the_seed()
    {
        var a = FaultSchedule.Create(new ChaosOptions { Seed = 7, Duration = TimeSpan.FromSeconds(30) });
        var b = FaultSchedule.Create(new ChaosOptions { Seed = 7, Duration = TimeSpan.FromSeconds(30) });
        Assert.Equal(a.Windows, b.Windows);
        Assert.True(a.Windows.Count >= 4);
        Assert.All(a.Windows.Zip(a.Windows.Skip(1)), p => Assert.True(p.First.End < p.Second.Start));
        Assert.True(a.Windows[^1].End <= TimeSpan.FromSeconds(27));
    }

    [Fact]
    public void The_schedule_cycles_through_every_requested_fault()
    {
        var options = new ChaosOptions { Seed = 3, Duration = TimeSpan.FromSeconds(30), Faults = [FaultKind.Kill, FaultKind.Partition, FaultKind.Blackhole] };
        var schedule = FaultSchedule.Create(options);
        Assert.Equal(options.Faults.Order(), schedule.Windows.Select(w => w.Kind).Distinct().Order());
        Assert.All(schedule.Windows.Where(w => w.Kind == FaultKind.Partition), w => Assert.NotNull(w.Frontend));
        Assert.All(schedule.Windows.Where(w => w.Kind == FaultKind.Kill), w => Assert.Null(w.Frontend));
    }

    [Fact]
    public void Zipf_favours_low_ranks_and_covers_the_range()
    {
        var sampler = new ZipfSampler(100, 1.0);
        var random = new Random(1);
        var counts = new int[100];
        for (var i = 0; i < 100_000; i++)
        {
            counts[sampler.Next(random)]++;
        }

        // With s = 1 over 100 keys, rank 0 has probability 1/H(100) ≈ 0.193 and rank 1 half of it.
        Assert.InRange(counts[0], 18_000, 20_600);
        Assert.InRange(counts[1], 8_900, 10_400);
        Assert.True(counts[99] > 0);
    }

    [Fact]
    public void Values_round_trip_and_foreign_values_are_refused()
    {
        Assert.True(VersionedDatabase.TryDecode(VersionedDatabase.Encode(42), out var version));
        Assert.Equal(42, version);
        Assert.False(VersionedDatabase.TryDecode("v"u8, out _));
        Assert.False(VersionedDatabase.TryDecode("42"u8, out _));
        Assert.False(VersionedDatabase.TryDecode("v42"u8, out _));
        Assert.True(VersionedDatabase.TryDecode("\"v42\""u8, out var quoted) && quoted == 42);
        Assert.True(VersionedDatabase.TryDecode(VersionedDatabase.Text(42), out var text) && text == 42);
        Assert.Equal(VersionedDatabase.Encode(42), System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(VersionedDatabase.Text(42)));
        Assert.False(VersionedDatabase.TryDecode("v4x"u8, out _));
    }

    [Fact]
    public void Names_parse_and_unknown_ones_are_named_in_the_error()
    {
        Assert.Equal([FailoverPolicy.Rehash, FailoverPolicy.Offline], ChaosNames.ParsePolicies("rehash, Offline"));
        Assert.Equal([FaultKind.Kill, FaultKind.Flap], ChaosNames.ParseFaults("kill,flap,kill"));
        var e = Assert.Throws<ArgumentException>(() => ChaosNames.ParseFaults("kill,nuke"));
        Assert.Contains("nuke", e.Message, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromSeconds(30), ChaosNames.ParseDuration("30s", "--duration"));
        Assert.Equal(TimeSpan.FromMilliseconds(1500), ChaosNames.ParseDuration("1500ms", "--duration"));
        Assert.Equal(TimeSpan.FromMinutes(2), ChaosNames.ParseDuration("2m", "--duration"));
        Assert.Throws<ArgumentException>(() => ChaosNames.ParseDuration("soon", "--duration"));
    }
}
