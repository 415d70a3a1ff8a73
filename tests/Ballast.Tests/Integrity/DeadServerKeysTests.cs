namespace Ballast.Tests.Integrity;

/// <summary>
/// S1 (seed 001, Don): a dead server's keys live in two places. Under PECL's rehashing the second outage serves the
/// value refilled during the first; Ballast must return the newest version or a miss.
/// </summary>
public sealed class DeadServerKeysTests
{
    [Theory]
    [InlineData(FailoverPolicy.Offline)]
    [InlineData(FailoverPolicy.Gutter)]
    [InlineData(FailoverPolicy.Replicated)]
    [InlineData(FailoverPolicy.Rehash)]
    public async Task S1_data_left_by_an_earlier_outage_is_never_served_in_a_later_one(FailoverPolicy policy)
    {
        await using var harness = await IntegrityHarness.StartAsync(policy, frontendCount: 1);
        var key = harness.KeyOn(0, "s1");

        // 1. k=v1 cached on S.
        Assert.Equal(1, await harness.ReadAsync(0, key));
        Assert.Equal(1, await harness.ReadAsync(0, key));

        // 2. S is killed; a write makes the database v2; reads refill wherever the policy sends them.
        harness.Server(0).Kill();
        Assert.Equal(2, await harness.WriteAsync(0, key));
        // Every policy's detector marks a refused server down (Rehash too: that is what moves its keys).
        Assert.True(await harness.WaitForStateAsync(0, ServerState.Down, TimeSpan.FromSeconds(3)));
        Assert.Equal(2, await harness.ReadAsync(0, key));
        Assert.Equal(2, await harness.ReadAsync(0, key));

        // 3. S restarts empty and is readmitted; reads go back to S: miss, refill v2.
        await harness.Server(0).RestartAsync();
        Assert.True(await harness.WaitForStateAsync(0, ServerState.Up, TimeSpan.FromSeconds(10)), "S was not readmitted");
        Assert.Equal(2, await harness.ReadAsync(0, key));

        // 4. A write makes the database v3 and deletes k on S.
        Assert.Equal(3, await harness.WriteAsync(0, key));

        // 5. S is killed again; reads go elsewhere again.
        harness.Server(0).Kill();
        await harness.ReadAsync(0, key);
        Assert.True(await IntegrityHarness.WaitUntilAsync(() => harness.Frontends[0].GetServerState(harness.EndPoint(0)) != ServerState.Up, TimeSpan.FromSeconds(3)));
        var read = await harness.ReadAsync(0, key);

        if (policy == FailoverPolicy.Rehash)
        {
            // The control: PECL's behaviour serves the value refilled during the first outage.
            Assert.Equal(2, read);
        }
        else
        {
            Assert.Equal(3, read);
        }
    }
}
