using System.Collections.Concurrent;

namespace Ballast.Tests.Integrity;

/// <summary>
/// S4 (seed 001, Mikael's lock): five frontends see a server return after an outage they all saw. Exactly one flush,
/// no read of the server before it, every frontend readmits it afterwards, and every frontend gets both events.
/// </summary>
public sealed class CoordinatedFailbackTests
{
    [Theory]
    [InlineData(FailoverPolicy.Offline)]
    [InlineData(FailoverPolicy.Gutter)]
    [InlineData(FailoverPolicy.Replicated)]
    public async Task S4_exactly_one_frontend_flushes_a_returning_server_and_all_readmit_it_after(FailoverPolicy policy)
    {
        await using var harness = await IntegrityHarness.StartAsync(policy, frontendCount: 5);
        var key = harness.KeyOn(0, "s4");
        Assert.Equal(1, await harness.ReadAsync(0, key));
        var flushesBefore = await harness.FlushCountAsync(0);

        harness.CutAll(0);
        Assert.Equal(2, await harness.WriteAsync(0, key));
        Assert.True(await harness.WaitForStateAsync(0, ServerState.Down, TimeSpan.FromSeconds(5)), "not every frontend saw the outage");

        // While S returns, all five frontends keep reading: none may see the value S kept from before the outage.
        using var stop = new CancellationTokenSource();
        var versions = new ConcurrentBag<int>();
        var readers = Enumerable.Range(0, 5).Select(f => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                versions.Add(await harness.ReadAsync(f, key));
                await Task.Delay(5);
            }
        })).ToArray();

        harness.HealAll(0);
        var allUp = await harness.WaitForStateAsync(0, ServerState.Up, TimeSpan.FromSeconds(10));
        await Task.Delay(300);
        await stop.CancelAsync();
        await Task.WhenAll(readers);

        var timeline = string.Join("\n", harness.Failures.Select(f => f.ToString()).Concat(harness.Recoveries.Select(r => $"frontend {r.Frontend}: {r.Args}")).Order());
        Assert.True(allUp, "not every frontend readmitted the server:\n" + timeline + "\nstates: " + string.Join(",", harness.Frontends.Select(f => f.GetServerState(harness.EndPoint(0)))));
        var flushes = await harness.FlushCountAsync(0) - flushesBefore;
        Assert.True(flushes == 1, $"{flushes} flushes of the returning server, not 1:\n{timeline}");
        Assert.DoesNotContain(1, versions);
        Assert.Equal(5, harness.Recoveries.Where(r => r.Args.Server == harness.EndPoint(0)).Select(r => r.Frontend).Distinct().Count());
        Assert.Single(harness.Recoveries, r => r.Args.Server == harness.EndPoint(0) && r.Args.FlushedByThisFrontend);
        Assert.True(harness.Failures.Count(f => f.Server == harness.EndPoint(0)) >= 5);
        Assert.All(harness.Failures, f => Assert.True(f.Epoch > 0 && f.Time > DateTimeOffset.UnixEpoch && f.Port == harness.EndPoint(0).Port));
    }
}
