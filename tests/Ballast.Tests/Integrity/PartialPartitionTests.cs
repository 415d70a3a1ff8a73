using System.Diagnostics;

namespace Ballast.Tests.Integrity;

/// <summary>
/// S3 (seed 000, Kenner): only some frontends lose a server. A fences it; B, which still reaches it, must stop reading
/// it within the bound B of A's write completing. The bound and the reads inside it are reported.
/// </summary>
[Collection(WallClockBoundCollection.Name)]
public sealed class PartialPartitionTests
{
    private readonly ITestOutputHelper _output;

    public PartialPartitionTests(ITestOutputHelper output) => _output = output;

    [Theory]
    [InlineData(FailoverPolicy.Offline)]
    [InlineData(FailoverPolicy.Gutter)]
    [InlineData(FailoverPolicy.Replicated)]
    [InlineData(FailoverPolicy.Rehash)]
    public async Task S3_a_frontend_that_still_reaches_the_server_stops_reading_it_within_the_bound(FailoverPolicy policy)
    {
        await using var harness = await IntegrityHarness.StartAsync(policy, frontendCount: 2);
        var bound = TimeSpan.FromSeconds(1);
        var key = harness.KeyOn(0, "s3");
        Assert.Equal(1, await harness.ReadAsync(0, key));
        Assert.Equal(1, await harness.ReadAsync(1, key));

        // A (frontend 0) cannot reach S; B (frontend 1) still can. A writes; its delete on S fails.
        harness.Cut(0, 0);
        var written = await harness.WriteAsync(0, key);
        var completed = Stopwatch.StartNew();

        // B reads k repeatedly for 2.5 s after the write completed.
        var (staleInside, staleBeyond, lastStale) = await harness.CountStaleReadsAsync(1, key, written, completed, bound, TimeSpan.FromSeconds(2.5));

        _output.WriteLine($"{policy}: stale reads inside B={bound.TotalMilliseconds} ms: {staleInside}, beyond: {staleBeyond}, last stale read began {lastStale?.TotalMilliseconds ?? 0:0} ms after the write completed");
        if (policy == FailoverPolicy.Rehash)
        {
            Assert.True(staleBeyond > 0, "the control: PECL's behaviour keeps serving B the old value");
        }
        else
        {
            Assert.Equal(0, staleBeyond);
            Assert.Contains(harness.Failures, f => f.Server == harness.EndPoint(0) && f.Reason == ServerFailureReason.SharedView);
        }
    }
}
