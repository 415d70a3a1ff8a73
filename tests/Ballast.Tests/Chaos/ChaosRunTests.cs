using Ballast.Cli.Chaos;
using Xunit.Abstractions;

namespace Ballast.Tests.Chaos;

/// <summary>
/// Short chaos runs against real memcached servers (3 servers, 3 frontends, per-frontend proxies). The control:
/// PECL-style Rehash must show stale reads under kill, partition and blackhole, or the checker is too weak to trust.
/// The claim: the policies that promise integrity show no stale read beyond the bound, and hand out no counter value
/// twice within a server epoch, with a share of deletes and refills cancelled mid-flight. (The flush and settle checks
/// that issue 16 added, and its new faults and paths, are <see cref="EdgeOfPromiseChaosTests"/>'.)
/// </summary>
[Collection(Integrity.WallClockBoundCollection.Name)]
public sealed class ChaosRunTests(ITestOutputHelper output)
{
    private static ChaosOptions Options(params FailoverPolicy[] policies) => new()
    {
        Policies = policies,
        Faults = [FaultKind.Kill, FaultKind.Partition, FaultKind.Blackhole],
        Servers = 3,
        Frontends = 3,
        WorkersPerFrontend = 3,
        Duration = TimeSpan.FromSeconds(13),
        Warmup = TimeSpan.FromSeconds(1.5),
        FaultLength = TimeSpan.FromSeconds(2),
        HealthyGap = TimeSpan.FromSeconds(1.5),
        Tail = TimeSpan.FromSeconds(2.5),
        Seed = 11,

        // Every path the promise must hold on, not only the plain cache-aside one: a third of deletes and refills
        // cancelled mid-flight, a fifth of reads with get-and-touch, and counters.
        CancelRatio = 0.3,
        TouchRatio = 0.2,
        CounterRatio = 0.05,
    };

    [Fact]
    public async Task Control_rehash_serves_stale_reads_under_kill_partition_and_blackhole()
    {
        var options = Options(FailoverPolicy.Rehash);
        var runner = new ChaosRunner(options);
        Assert.Equal(options.Faults.Order(), runner.Schedule.Windows.Select(w => w.Kind).Distinct().Order());
        var result = Assert.Single(await runner.RunAsync());
        Log(runner, result);
        Assert.True(result.Reads > 1000, $"Too few reads ({result.Reads}) for the run to mean anything.");
        // Rehash promises no bound, so the checker counts its every stale read as beyond one. The control must show
        // what the integrity policies are held to: reads stale by more than the bound B they run with. A Rehash that
        // behaved like Offline (stale reads only inside B) must fail here.
        var beyondIntegrityBound = result.Stale.Count(s => s.StalenessMs > options.Bound.TotalMilliseconds);
        Assert.True(
            beyondIntegrityBound > 0,
            $"Rehash (PECL's default) served no read stale beyond the bound of {options.Bound.TotalMilliseconds:0} ms under kill, partition and blackhole ({result.StaleReads} stale reads, at most {result.MaxStalenessMs:0} ms old): the checker is too weak to trust its zeros.");
        Assert.Equal(result.StaleReads, result.StaleBeyondBound);
    }

    /// <summary>
    /// The claim, over every read and write API (<see cref="ChaosOptions.ApiMix"/>: get-many, a get into a buffer and
    /// GetOrCreate beside the leased get and get-and-touch; mark-stale beside delete; counters), with a third of the
    /// deletes and refills cancelled: no read stale beyond the bound, no counter value handed out twice within a server
    /// epoch. Rehash runs the same workload as the control: it must still show reads stale beyond the bound, or the mix
    /// would hide staleness rather than check it. (A run of the plain cache-aside workload alone under the integrity
    /// policies was dropped: this one takes every path it took, and its control above still runs.)
    /// </summary>
    [Fact]
    public async Task Every_read_and_write_api_keeps_the_promise_and_the_control_still_fails()
    {
        var options = Options(FailoverPolicy.Rehash, FailoverPolicy.Offline, FailoverPolicy.Gutter, FailoverPolicy.Replicated);
        options.ApiMix = true;
        options.TouchRatio = 0; // the mix picks get-and-touch for half its leased reads

        // Two of the five read paths hold no lease and never refill, so Rehash moves fewer values to a second home
        // than in the plain workload: 11 s of kill, partition and blackhole left the control without a read stale
        // beyond the bound in one run of five. A pause (a server that answers again with what it held) as well.
        options.Faults = [FaultKind.Kill, FaultKind.Partition, FaultKind.Blackhole, FaultKind.Pause];
        options.Duration = TimeSpan.FromSeconds(14);
        var runner = new ChaosRunner(options);
        var results = await runner.RunAsync();
        foreach (var result in results)
        {
            Log(runner, result);
            Assert.True(result.Reads > 1000, $"{result.Policy}: too few reads ({result.Reads}).");
            Assert.False(result.ErrorsByType.ContainsKey(nameof(InvalidDataException)), $"{result.Policy}: a read returned a value the workload never wrote.");
        }

        var rehash = results.Single(r => r.Policy == "rehash");
        Assert.True(rehash.Stale.Any(s => s.StalenessMs > options.Bound.TotalMilliseconds), "the control (Rehash) served no read stale beyond the bound under the API mix");
        var violations = results.Where(r => r.Policy != "rehash").SelectMany(r => ChaosReport.ExplainStaleReadsAndCounters(r, 5)).ToArray();
        Assert.True(violations.Length == 0, "Stale reads beyond the bound, or counter values handed out twice:\n" + string.Join("\n", violations));
        foreach (var result in results.Where(r => r.Policy != "rehash"))
        {
            Assert.True(result.CancelledCalls > 0, $"{result.Policy}: no call was cancelled, so the run says nothing of cancellation.");
            Assert.True(result.CounterDuplicates == 0, $"{result.Policy}: {result.CounterDuplicates} counter values handed out twice.");
            Assert.True(result.Policy == "replicated" || result.CounterValues > 0, $"{result.Policy}: no counter value was handed out.");
        }
    }

    private void Log(ChaosRunner runner, PolicyResult result)
    {
        output.WriteLine(runner.Schedule.ToString());
        output.WriteLine(ChaosReport.ToJson([result]));
    }
}
