namespace Ballast.Tests.Integrity;

/// <summary>Failure detection against real faults: states, events, and failing fast while down.</summary>
public sealed class FailureDetectionTests
{
    [Fact]
    public async Task A_refused_connection_marks_the_server_down_at_once_and_its_operations_then_fail_fast()
    {
        // Nothing here waits for a timeout (a killed server refuses at once), so the healthy servers get a timeout a
        // loaded test machine cannot trip by accident.
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, frontendCount: 1, configure: o => o.OperationTimeout = TimeSpan.FromSeconds(2));
        var client = harness.Frontends[0];
        var key = harness.KeyOn(1, "fast");
        await client.SetAsync(key, "v");

        harness.Server(1).Kill();
        Assert.False((await client.GetAsync(key)).IsHit);
        Assert.True(await harness.WaitForStateAsync(1, ServerState.Down, TimeSpan.FromSeconds(2)));

        // The event follows the state change, raised on a worker (never on the thread that saw the failure).
        Assert.True(await IntegrityHarness.WaitUntilAsync(() => harness.Failures.Any(f => f.Server == harness.EndPoint(1)), TimeSpan.FromSeconds(2)));
        var failed = Assert.Single(harness.Failures, f => f.Server == harness.EndPoint(1));
        Assert.Contains(failed.Reason, new[] { ServerFailureReason.ConnectionReset, ServerFailureReason.ConnectionRefused });
        Assert.Equal(harness.EndPoint(1).Host, failed.Host);
        Assert.Equal(harness.EndPoint(1).Port, failed.Port);

        // Its fence published (the event above is raised when it is marked down, before the publish ends: under load a
        // store made in between awaited the publish, and its call did not complete before it returned).
        Assert.True(await IntegrityHarness.WaitUntilAsync(() => client.IsFencedForEveryone(harness.EndPoint(1)), TimeSpan.FromSeconds(5)));

        // Down: nothing waits for a timeout. Each call below completes before it returns to the caller.
        var strict = client.GetFromHomeServerAsync(key);
        Assert.True(strict.IsCompleted);
        await Assert.ThrowsAsync<ServerUnavailableException>(async () => await strict);
        var read = client.GetAsync(key);
        Assert.True(read.IsCompleted);
        Assert.False((await read).IsHit);
        var store = client.SetAsync(key, "w");
        Assert.True(store.IsCompleted);
        Assert.Equal(StoreStatus.ServerDown, (await store).Status);
        await Assert.ThrowsAsync<ServerUnavailableException>(async () => await client.IncrementAsync(key, 1, initial: 1));

        // Keys of the other servers are untouched.
        var other = harness.KeyOn(2, "fast-other");
        await client.SetAsync(other, "ok");
        Assert.Equal("ok", await client.GetStringAsync(other));
    }

    [Fact]
    public async Task Consecutive_timeouts_mark_a_stalled_server_down()
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, frontendCount: 1);
        var client = harness.Frontends[0];
        var key = harness.KeyOn(0, "stall");
        harness.Server(0).Pause();
        // The shared view's background reads of the stalled server time out too and count: a request may therefore
        // be refused because the server was marked down while it waited. Either way it fails, and never hangs. (The
        // exact count of three is the detector's unit test; here, requests for 5 s at most must get it down.)
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (client.GetServerState(harness.EndPoint(0)) == ServerState.Up && DateTime.UtcNow < deadline)
        {
            var error = await Assert.ThrowsAnyAsync<MemcachedException>(async () => await client.GetFromHomeServerAsync(key));
            Assert.True(error is MemcachedTimeoutException or ServerUnavailableException, error.ToString());
            await Task.Delay(20);
        }

        Assert.NotEqual(ServerState.Up, client.GetServerState(harness.EndPoint(0)));
        // Events are raised on a worker, after the state has changed: wait (boundedly) for their delivery.
        Assert.True(
            await IntegrityHarness.WaitUntilAsync(() => harness.Failures.Any(f => f.Server == harness.EndPoint(0) && f.Reason == ServerFailureReason.Timeouts), TimeSpan.FromSeconds(2)),
            "no ServerFailed event with reason Timeouts for the stalled server");
        harness.Server(0).Resume();
        Assert.True(await harness.WaitForStateAsync(0, ServerState.Up, TimeSpan.FromSeconds(10)));
        Assert.True(
            await IntegrityHarness.WaitUntilAsync(() => harness.Recoveries.Any(r => r.Args.Server == harness.EndPoint(0) && r.Args.FlushedByThisFrontend && r.Args.Downtime > TimeSpan.Zero), TimeSpan.FromSeconds(2)),
            "no ServerRecovered event flushed by this frontend");
    }
}
