using Ballast.FaultInjection;

namespace Ballast.Tests.Integrity;

/// <summary>
/// The failback lock (seed 001, Mikael's <c>add()</c>) under a real race: S4 lets frontends notice the return one after
/// another, so the first to readmit the server usually does so before the others get that far, and S4 passes without
/// the lock. Here every frontend sees the server return at the same moment (same hold time, probes in step, refused
/// connections while it is away so no probe is stuck on a dead link) and each failback step takes a slow round trip,
/// so every frontend is inside its failback before any of them has readmitted the server. Only the lock keeps the
/// flush to exactly one.
/// </summary>
public sealed class FailbackLockRaceTests
{
    private const int Frontends = 6;

    /// <param name="returningServerLatencyMs">
    /// Latency each way to the returning server itself. At 150 ms the moment between the winner's <c>flush_all</c>
    /// (which wipes the lock) and its putting the lock back lasts 300 ms: frontends that retried <c>add()</c> every tick
    /// took the lock in it and flushed a second time (reproduced: 2 flushes), until losers stopped retrying an epoch
    /// whose lock another frontend holds.
    /// </param>
    [Theory]
    [InlineData(0)]
    [InlineData(150)]
    public async Task Frontends_that_see_a_server_return_at_the_same_moment_flush_it_exactly_once(int returningServerLatencyMs)
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, frontendCount: Frontends, configure: options =>
        {
            options.OperationTimeout = TimeSpan.FromSeconds(2);
            options.ConnectTimeout = TimeSpan.FromSeconds(2);
            options.FailureDetection.ProbeInterval = TimeSpan.FromMilliseconds(20);
            options.FailureDetection.MaxProbeInterval = TimeSpan.FromMilliseconds(20);
            options.FailureDetection.ProbeJitter = 0;
        });
        var key = harness.KeyOn(0, "lock-race");
        Assert.Equal(1, await harness.ReadAsync(0, key));
        var flushesBefore = await harness.FlushCountAsync(0);

        // Every frontend's link resets: each notices at once (a reset marks a server down without waiting for
        // timeouts) and its probes fail at once, so none has a probe in flight when the server comes back.
        for (var f = 0; f < Frontends; f++)
        {
            harness.Proxy(f, 0).SetMode(ProxyFaultMode.Reset);
        }

        Assert.Equal(2, await harness.WriteAsync(0, key));
        Assert.True(await harness.WaitForStateAsync(0, ServerState.Down, TimeSpan.FromSeconds(5)), "not every frontend saw the outage");

        // Well past every frontend's hold time (300 ms): all are ready to fail the server back on their next probe.
        await Task.Delay(TimeSpan.FromSeconds(1));

        // The server returns for everyone at once, while the view replicas S1 and S2 are 150 ms away each way: a
        // failback reads the view record before its flush and swaps it after, a round trip each, so the first
        // readmission comes ~0.6 s after the return, while every frontend's probe (20 ms apart) has succeeded within
        // ~0.1 s of it. The flushed server itself stays fast, which keeps short the moment between the winner's flush
        // (which wipes the lock) and its putting the lock back.
        for (var f = 0; f < Frontends; f++)
        {
            if (returningServerLatencyMs > 0)
            {
                harness.Slow(f, 0, TimeSpan.FromMilliseconds(returningServerLatencyMs));
            }
            else
            {
                harness.Heal(f, 0);
            }
            harness.Slow(f, 1, TimeSpan.FromMilliseconds(150));
            harness.Slow(f, 2, TimeSpan.FromMilliseconds(150));
        }

        Assert.True(await harness.WaitForStateAsync(0, ServerState.Up, TimeSpan.FromSeconds(15)), "not every frontend readmitted the server");

        // Without the lock every frontend flushes (6). With it, exactly one does: a frontend that lost the lock for
        // this outage does not try again until the lock's time to live has passed, so it cannot take the lock in the
        // moment between the winner's flush_all (which wipes it) and the winner putting it back.
        var flushes = await harness.FlushCountAsync(0) - flushesBefore;
        Assert.Equal(1, flushes);
    }
}
