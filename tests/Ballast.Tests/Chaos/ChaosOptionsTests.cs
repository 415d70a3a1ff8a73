using Ballast.Cli.Chaos;

namespace Ballast.Tests.Chaos;

/// <summary>The options, schedule and per-path counts that issue 16's new faults and paths added to <c>ballast chaos</c>.</summary>
public sealed class ChaosOptionsTests
{
    [Fact]
    public void The_lag_fault_raises_the_operation_timeout_above_twice_its_latency_and_other_runs_keep_theirs()
    {
        var lagging = new ChaosOptions { Faults = [FaultKind.Lag], LagLatency = TimeSpan.FromMilliseconds(400) };
        Assert.Equal(TimeSpan.FromMilliseconds(1100), lagging.EffectiveOperationTimeout);
        var plain = new ChaosOptions { Faults = [FaultKind.Kill] };
        Assert.Equal(plain.OperationTimeout, plain.EffectiveOperationTimeout);
    }

    [Fact]
    public void A_factory_delay_without_the_api_mix_is_refused_by_name()
    {
        var options = new ChaosOptions { FactoryDelay = TimeSpan.FromSeconds(2) };
        var error = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Equal("--factory-delay", error.ParamName);
        options.ApiMix = true;
        options.Validate();
    }

    [Fact]
    public void Lag_blip_and_restart_windows_name_their_frontend()
    {
        var options = new ChaosOptions { Faults = [FaultKind.Lag, FaultKind.Blip, FaultKind.Restart], Frontends = 3, Duration = TimeSpan.FromSeconds(20) };
        var windows = FaultSchedule.Create(options).Windows;
        Assert.Equal([FaultKind.Lag, FaultKind.Blip, FaultKind.Restart], windows.Select(w => w.Kind).Distinct().Order());
        Assert.All(windows, w => Assert.InRange(w.Frontend ?? -1, 0, 2));
        var blip = windows.First(w => w.Kind == FaultKind.Blip);
        Assert.Contains($"every link of frontend {blip.Frontend}", FaultSchedule.Describe(blip), StringComparison.Ordinal);
    }

    [Fact]
    public void Stale_reads_beyond_the_bound_are_counted_per_read_path()
    {
        var history = new HistoryRecorder();
        var log = history.NewWorker();
        log.Write(new WriteRecord(0, 0, 2, 0, 100, false));
        log.Read(new ReadRecord(1, 0, 1, 2000, 2001, true, ReadPaths.GetOrCreate));
        log.Read(new ReadRecord(1, 0, 2, 2100, 2101, true, ReadPaths.GetOrCreate));
        log.Read(new ReadRecord(1, 0, 1, 2200, 2201, true, ReadPaths.DistributedCache));
        log.Read(new ReadRecord(1, 0, 1, 500, 501, true, ReadPaths.GetForRefill));
        var result = PolicyResult.From(FailoverPolicy.Offline, new ChaosOptions(), TimeSpan.FromSeconds(1), history, [0], TimeSpan.FromSeconds(3));
        Assert.Equal(2, result.ReadsByPath[ReadPaths.GetOrCreate]);
        Assert.Equal(1, result.StaleBeyondBoundByPath[ReadPaths.GetOrCreate]);
        Assert.Equal(1, result.StaleBeyondBoundByPath[ReadPaths.DistributedCache]);
        Assert.False(result.StaleBeyondBoundByPath.ContainsKey(ReadPaths.GetForRefill));
        Assert.True(result.Violates);
    }

    [Fact]
    public void A_pool_that_did_not_settle_breaks_the_promise_of_an_integrity_policy_only()
    {
        var unsettled = new RunChecks(new SettleResult(false, 10_000, "frontend 0: server 1 Recovering"), new FlushCheck([], [], []), [], new RestartLeases(0, 0, 0, []), ["k"]);
        var offline = PolicyResult.From(FailoverPolicy.Offline, new ChaosOptions(), TimeSpan.FromSeconds(1), new HistoryRecorder(), [0], TimeSpan.FromSeconds(3), checks: unsettled);
        Assert.True(offline.Violates);
        Assert.Contains(ChaosReport.ExplainFlushesAndSettling(offline), line => line.Contains("had not settled", StringComparison.Ordinal));
        var rehash = PolicyResult.From(FailoverPolicy.Rehash, new ChaosOptions(), null, new HistoryRecorder(), [0], TimeSpan.FromSeconds(3), checks: unsettled);
        Assert.False(rehash.Violates);
    }
}
