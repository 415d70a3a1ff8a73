using System.Diagnostics;
using Ballast.FaultInjection;

namespace Ballast.Tests.Integrity;

/// <summary>
/// An invalidation whose caller left fences its server only when the caller's grace (a quarter of the bound) has run
/// out, yet every frontend must stop reading the old value within the bound of the call's return. A frontend that read
/// the view just before that fence, and whose next view reads are slow (a slow link below the timeout), keeps serving
/// on the view it has: on a lease of the whole bound it served the old value for a quarter of the bound too long
/// (simulator seed gutter 22021). Reads are served on a lease of three quarters of the bound. Real time, so it runs alone.
/// </summary>
[Collection(WallClockBoundCollection.Name)]
public sealed class DepartedCallerSlowViewTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(4);

    [Theory]
    [InlineData(FailoverPolicy.Offline)]
    [InlineData(FailoverPolicy.Gutter)]
    public async Task A_departed_callers_fence_stops_a_frontend_with_a_slow_view_within_the_bound_of_the_return(FailoverPolicy policy)
    {
        // The steps below are timed to 100 ms within a second; the first test of a run finds a thread pool of one
        // thread per core, where a timer's continuation waited up to 700 ms for a thread to be injected.
        ThreadPool.GetMinThreads(out var workers, out var completions);
        ThreadPool.SetMinThreads(Math.Max(workers, 16), completions);
        try
        {
            await RunAsync(policy);
        }
        finally
        {
            ThreadPool.SetMinThreads(workers, completions);
        }
    }

    private async Task RunAsync(FailoverPolicy policy)
    {
        // The reader's view reads are slowed to about 4.4 s, below the operation timeout: slow, not failed.
        await using var harness = await IntegrityHarness.StartAsync(policy, frontendCount: 2, configure: options =>
        {
            options.SharedView.Bound = Bound;
            options.OperationTimeout = TimeSpan.FromSeconds(6);
        });
        var writer = harness.Frontends[0];
        var reader = harness.Frontends[1];
        var key = harness.KeyOn(0, "departed-slow-view");
        Assert.Equal(1, await harness.ReadAsync(1, key));
        Assert.Equal(1, await harness.ReadAsync(1, key));

        // The writer cannot reach the key's server: its delete hangs, its caller leaves, and the writer fences the
        // server when the caller's grace (a quarter of the bound, 1 s) runs out.
        harness.Cut(0, 0);
        var written = harness.DatabaseVersionAfterWrite(key);
        using (var abort = new CancellationTokenSource(100))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await writer.DeleteAsync(key, abort.Token));
        }

        var returned = Stopwatch.StartNew();

        // The reader reads the view 500 ms after the return, before the fence; then its links to the two other servers
        // (which hold the view's other copies) are slowed, so none of its later view reads completes within the test.
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        var readAt = returned.Elapsed;
        await reader.RefreshSharedViewAsync(CancellationToken.None);
        output.WriteLine($"forced read from {readAt.TotalMilliseconds:0} to {returned.Elapsed.TotalMilliseconds:0} ms, age {reader.SharedViewAge?.TotalMilliseconds:0}");
        harness.Slow(1, 1, TimeSpan.FromMilliseconds(2200));
        harness.Slow(1, 2, TimeSpan.FromMilliseconds(2200));
        var leaseFrom = returned.Elapsed - (reader.SharedViewAge ?? TimeSpan.Zero);
        Assert.True(leaseFrom < Bound / 4, $"the reader's last view read began {leaseFrom.TotalMilliseconds:0} ms after the return, after the fence: the test did not reach the case");

        var (inside, beyond, lastStale) = await harness.CountStaleReadsAsync(1, key, written, returned, Bound, Bound + TimeSpan.FromMilliseconds(700));
        output.WriteLine($"{policy}: the reader's last view read began {leaseFrom.TotalMilliseconds:0} ms after the return; stale reads within the bound {inside}, beyond {beyond}, the last at {lastStale?.TotalMilliseconds:0} ms");

        Assert.True(harness.Failures.Any(f => f.Server == harness.EndPoint(0)), "the writer never fenced the server its delete could not reach");
        Assert.True(lastStale > Bound / 2, $"the reader stopped reading the old value {lastStale?.TotalMilliseconds:0} ms after the return: its view was not slow, the test did not reach the case");
        Assert.True(beyond == 0, $"{beyond} reads that began more than the bound ({Bound.TotalMilliseconds:0} ms) after the caller's return got the old value, the last at {lastStale?.TotalMilliseconds:0} ms (the reader's view was read {leaseFrom.TotalMilliseconds:0} ms after the return)");
    }
}
