namespace Ballast.Tests.Integrity;

/// <summary>
/// S2 (seed 001, Mikael's point 1; seed 000): a server cut off from every frontend keeps its memory, misses a delete,
/// and comes back. It must be flushed (or have every missed invalidation applied) before anyone reads it.
/// </summary>
public sealed class ReturningServerTests
{
    [Theory]
    [InlineData(FailoverPolicy.Offline)]
    [InlineData(FailoverPolicy.Gutter)]
    [InlineData(FailoverPolicy.Replicated)]
    [InlineData(FailoverPolicy.Rehash)]
    public async Task S2_a_server_that_returns_with_old_data_is_flushed_before_it_serves(FailoverPolicy policy)
    {
        await using var harness = await IntegrityHarness.StartAsync(policy, frontendCount: 2);
        var key = harness.KeyOn(0, "s2");
        Assert.Equal(1, await harness.ReadAsync(0, key));

        // S becomes unreachable for every frontend but keeps running with its memory; the write's delete fails.
        harness.CutAll(0);
        Assert.Equal(2, await harness.WriteAsync(0, key));
        Assert.Equal(2, await harness.ReadAsync(1, key));

        // S becomes reachable again.
        harness.HealAll(0);
        Assert.True(await harness.WaitForStateAsync(0, ServerState.Up, TimeSpan.FromSeconds(10)), "S was not readmitted");
        var reads = new List<int>();
        for (var i = 0; i < 5; i++)
        {
            reads.Add(await harness.ReadAsync(0, key));
            reads.Add(await harness.ReadAsync(1, key));
        }

        if (policy == FailoverPolicy.Rehash)
        {
            Assert.Contains(1, reads);
        }
        else
        {
            Assert.All(reads, version => Assert.Equal(2, version));
            Assert.True(await harness.FlushCountAsync(0) >= 1);
        }
    }

    [Theory]
    [InlineData(FailoverPolicy.Offline)]
    [InlineData(FailoverPolicy.Gutter)]
    [InlineData(FailoverPolicy.Replicated)]
    public async Task S2_a_paused_server_whose_kernel_queued_the_delete_is_still_flushed_before_it_serves(FailoverPolicy policy)
    {
        await using var harness = await IntegrityHarness.StartAsync(policy, frontendCount: 2);
        var key = harness.KeyOn(0, "s2p");
        Assert.Equal(1, await harness.ReadAsync(0, key));

        harness.Server(0).Pause();
        Assert.Equal(2, await harness.WriteAsync(0, key));
        // The writer could not confirm its delete on the stalled server, so it fenced it.
        Assert.True(await harness.WaitForStateAsync(0, ServerState.Down, TimeSpan.FromSeconds(3), 0));
        Assert.Equal(2, await harness.ReadAsync(1, key));
        harness.Server(0).Resume();

        Assert.True(await harness.WaitForStateAsync(0, ServerState.Up, TimeSpan.FromSeconds(10)), "S was not readmitted");
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(2, await harness.ReadAsync(0, key));
            Assert.Equal(2, await harness.ReadAsync(1, key));
        }
    }
}
