namespace Ballast.Tests.Integrity;

/// <summary>
/// A write that is not sent because this frontend's view fences the key's server is an invalidation of the key there:
/// the view may lag a readmission made elsewhere (the server flushed, readmitted and refilled with an old value by a
/// refill whose lease predates the write), and a frontend cut off before its view catches up can neither send nor fence
/// the delete it owes (simulator seed offline 27000913). So when the fenced server answers this frontend's probes the
/// delete is sent at once, before the write returns <see cref="StoreStatus.ServerDown"/>. Timed in wall-clock time
/// (the failback's hold is what keeps the server fenced), so it runs alone.
/// </summary>
[Collection(WallClockBoundCollection.Name)]
public sealed class FencedWriteTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(FailoverPolicy.Offline)]
    [InlineData(FailoverPolicy.Gutter)]
    [InlineData(FailoverPolicy.Replicated)]
    public async Task A_write_not_sent_to_a_fenced_server_that_answers_deletes_the_key_there_at_once(FailoverPolicy policy)
    {
        // No failback within the test: the server stays fenced (a failback's flush would delete the key as well).
        await using var harness = await IntegrityHarness.StartAsync(policy, frontendCount: 2, configure: o => o.Failback.MinimumDownTime = TimeSpan.FromSeconds(20));
        var key = harness.KeyOn(0, "fenced-write");

        // Frontend 1 cannot reach server 0: its delete there fails, and it fences the server for the pool.
        harness.Cut(1, 0);
        await harness.WriteAsync(1, key);
        Assert.True(
            await harness.WaitForStateAsync(0, ServerState.Recovering, TimeSpan.FromSeconds(10), 0),
            $"frontend 0 did not hold server 0 down from the shared view while its probes got through (state {harness.Frontends[0].GetServerState(harness.EndPoint(0))})");

        if (policy == FailoverPolicy.Gutter)
        {
            // The gutter takes writes once the fence has held for the bound (every frontend has stopped writing the server).
            await Task.Delay(new SharedViewOptions().Bound * 2);
        }

        // An old value on the fenced server, as a refill under a view behind a readmission would leave it.
        await harness.DirectSetAsync(0, key, "old");
        var result = await harness.Frontends[0].SetAsync(key, "new");

        // Offline: not stored anywhere; Gutter: stored in the gutter for the outage; Replicated: on the key's other replica.
        Assert.Equal(policy == FailoverPolicy.Offline ? StoreStatus.ServerDown : StoreStatus.Stored, result.Status);
        var left = await harness.DirectGetAsync(0, key);
        output.WriteLine($"{policy}: the set returned {result.Status}; server 0 now holds {left ?? "nothing"} for the key");
        Assert.True(left is null, $"server 0 still holds '{left}' for key '{key}' after a set that was not sent there returned");
    }
}
