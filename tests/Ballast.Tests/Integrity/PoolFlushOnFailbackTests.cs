namespace Ballast.Tests.Integrity;

/// <summary>
/// The seed's point 2 for rehashing pools: flush the whole pool when a server comes back, so the copies its keys left
/// on other servers cannot be served in a later outage.
/// </summary>
public sealed class PoolFlushOnFailbackTests
{
    [Fact]
    public async Task Rehash_with_a_pool_flush_on_failback_no_longer_serves_S1s_stale_value()
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Rehash, frontendCount: 1, configure: o => o.Failback.FlushPoolOnFailback = true);
        var key = harness.KeyOn(0, "s1-flush");
        Assert.Equal(1, await harness.ReadAsync(0, key));

        harness.Server(0).Kill();
        await harness.WriteAsync(0, key);
        await harness.ReadAsync(0, key);
        Assert.Equal(2, await harness.ReadAsync(0, key));
        var flushesElsewhere = await harness.FlushCountAsync(1) + await harness.FlushCountAsync(2);

        await harness.Server(0).RestartAsync();
        Assert.True(await harness.WaitForStateAsync(0, ServerState.Up, TimeSpan.FromSeconds(10)));
        Assert.Equal(2, await harness.ReadAsync(0, key));
        Assert.Equal(3, await harness.WriteAsync(0, key));

        harness.Server(0).Kill();
        await harness.ReadAsync(0, key);
        Assert.Equal(3, await harness.ReadAsync(0, key));
        Assert.Equal(flushesElsewhere + 2, await harness.FlushCountAsync(1) + await harness.FlushCountAsync(2));
    }
}
