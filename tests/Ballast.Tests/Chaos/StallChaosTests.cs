using Ballast.Cli.Chaos;

namespace Ballast.Tests.Chaos;

/// <summary>
/// The stall fault: one frontend's timers are held for a window (its background loop sleeps through it, so no view
/// read starts and its lease lapses), as on a host whose thread pool is starved or whose process sits in a long
/// pause. Its operations wait for the view read that renews the lease instead of missing, so the pool's hit ratio
/// holds through the window, and no read is stale. Without that wait (mutant 82), the stalled frontend missed every
/// read from three quarters of the bound into the window on (a hit ratio of 0.14 against the others' 0.79). Plain gets
/// and writes: a leased read that loses its lease waits on a timer, which the stall holds too, and would leave the
/// stalled frontend too few reads to compare.
/// </summary>
[Collection(Integrity.WallClockBoundCollection.Name)]
public sealed class StallChaosTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_stalled_frontend_keeps_serving_its_reads_and_none_is_stale()
    {
        var options = new ChaosOptions
        {
            Policies = [FailoverPolicy.Offline, FailoverPolicy.Replicated],
            Faults = [FaultKind.Stall],
            Servers = 3,
            Frontends = 3,
            WorkersPerFrontend = 3,
            Keys = 20,
            Duration = TimeSpan.FromSeconds(8),
            Warmup = TimeSpan.FromSeconds(1.5),
            FaultLength = TimeSpan.FromSeconds(2),
            HealthyGap = TimeSpan.FromSeconds(1.5),
            Tail = TimeSpan.FromSeconds(1),
            Seed = 18,
        };
        var runner = new ChaosRunner(options);
        Assert.All(runner.Schedule.Windows, w => Assert.Equal(FaultKind.Stall, w.Kind));
        var results = await runner.RunAsync();
        foreach (var result in results)
        {
            output.WriteLine($"{result.Policy}: {result.Reads} reads, {result.Hits} hits, {result.StaleBeyondBound} stale beyond the bound, flushes per server {string.Join("/", result.FlushesPerServer)}");

            // The stalled frontend's lease lapses three quarters of the bound into each window; from then on, without
            // the wait, every read of it missed (a ratio near a third of the others').
            // A window can pass with no read of the stalled frontend at all: when the read that renews its lease waits
            // for a straggling witness, it waits on a timer, which the stall holds to the window's end (a starved pool's
            // timers are late, not frozen). Windows with reads are judged; at least one per policy must have them.
            foreach (var window in result.WindowHits)
            {
                output.WriteLine($"{result.Policy}: {window.Window}: hit ratio {window.HitRatio:0.000} ({window.Reads} reads), the others {window.OtherHitRatio:0.000} ({window.OtherReads})");
            }

            var judged = result.WindowHits.Where(w => w.Reads > 50).ToList();
            Assert.True(judged.Count > 0, $"{result.Policy}: the stalled frontends made too few reads in every window to judge");
            foreach (var window in judged)
            {
                Assert.True(window.HitRatio >= 0.85 * window.OtherHitRatio, $"{result.Policy}: {window.Window}: the stalled frontend's hit ratio was {window.HitRatio:0.000}, the others' {window.OtherHitRatio:0.000}: it missed instead of renewing its lease.");
            }
        }

        // Every rule, but for a second flush of a server during the brand-new pool's start, before any stall: two
        // frontends' recoveries of the new pool can overlap (the first one's flushes wipe its lock), the open class
        // docs/integrity.md describes ("What the simulator still finds"); this test is about stalls.
        var firstStall = runner.Schedule.Windows.Min(w => w.Start).TotalMilliseconds;
        var violations = results.SelectMany(r => ChaosReport.ExplainViolations(r, 50).Where(line => !r.ExcessFlushList.Any(e => e.AtMs < firstStall && e.Flushes <= 2
            && line.StartsWith(FormattableString.Invariant($"{r.Policy}: server {e.Server} had been flushed"), StringComparison.Ordinal)))).ToArray();
        Assert.True(violations.Length == 0, "The promise broke:\n" + string.Join("\n", violations));
    }
}
