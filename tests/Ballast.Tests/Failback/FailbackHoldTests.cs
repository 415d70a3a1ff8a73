using Ballast.Tests.Integrity;

namespace Ballast.Tests.Failback;

/// <summary>
/// A server that comes back at once is not readmitted at once: the failback waits its hold time
/// (Failback.MinimumDownTime, doubled per recent outage), so a flapping server is not flushed and readmitted on every
/// blink. Timed in wall-clock time, so it runs alone.
/// </summary>
[Collection(WallClockBoundCollection.Name)]
public sealed class FailbackHoldTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_server_restarted_at_once_is_readmitted_only_after_the_hold_time()
    {
        var hold = TimeSpan.FromSeconds(3);
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, frontendCount: 1, configure: o => o.Failback.MinimumDownTime = hold);
        var failed = harness.Failures.Count;

        var downAt = System.Diagnostics.Stopwatch.StartNew();
        harness.Server(0).Kill();
        await harness.Server(0).RestartAsync();
        Assert.True(await IntegrityHarness.WaitUntilAsync(() => harness.Failures.Count > failed, TimeSpan.FromSeconds(5)), "the restart was not noticed");
        Assert.True(await IntegrityHarness.WaitUntilAsync(() => !harness.Recoveries.IsEmpty, TimeSpan.FromSeconds(15)), "not readmitted within 15 s");
        var readmittedAfter = downAt.Elapsed;
        output.WriteLine($"readmitted {readmittedAfter.TotalMilliseconds:0} ms after the kill (hold {hold.TotalMilliseconds:0} ms)");

        Assert.True(readmittedAfter >= hold, $"readmitted {readmittedAfter.TotalMilliseconds:0} ms after the kill, before the hold of {hold.TotalMilliseconds:0} ms");
    }
}
