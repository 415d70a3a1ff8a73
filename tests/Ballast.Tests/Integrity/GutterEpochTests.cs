using Ballast.FaultInjection;

namespace Ballast.Tests.Integrity;

/// <summary>
/// Gutter entries are tagged with the epoch of the outage they were written in. A value written to the key's own
/// server between two outages (a set, which does not touch the gutter) makes the first outage's gutter entry stale:
/// the second outage must not serve it.
/// </summary>
public sealed class GutterEpochTests
{
    [Fact]
    public async Task A_gutter_entry_from_an_earlier_outage_is_not_served_in_a_later_one()
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Gutter, frontendCount: 1);
        var client = harness.Frontends[0];
        var key = harness.KeyOn(0, "gutter-epoch");

        // Outage 1: the key is refilled into the gutter, tagged with this outage's epoch.
        harness.CutAll(0);
        Assert.Equal(2, await harness.WriteAsync(0, key));
        Assert.True(await harness.WaitForStateAsync(0, ServerState.Down, TimeSpan.FromSeconds(5)), "S0 was not marked down");

        // The gutter serves an outage only once its fence has been held for the bound (others may write S0 until
        // then): the refill lands there once that has passed.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        string? fromGutter = null;
        while (fromGutter != "v2" && DateTime.UtcNow < deadline)
        {
            Assert.Equal(2, await harness.ReadAsync(0, key));
            fromGutter = await client.GetStringAsync(key);
            await Task.Delay(50);
        }

        Assert.Equal("v2", fromGutter);

        // Back up; the application sets a new value on S0 itself. The gutter still holds v2 from outage 1.
        harness.HealAll(0);
        Assert.True(await harness.WaitForStateAsync(0, ServerState.Up, TimeSpan.FromSeconds(10)), "S0 was not readmitted");
        await client.SetAsync(key, "v3");
        Assert.Equal("v3", await client.GetStringAsync(key));

        // Outage 2, noticed through a reset (no delete, so nothing touches the gutter entry).
        harness.Proxy(0, 0).SetMode(ProxyFaultMode.Reset);
        Assert.False((await client.GetAsync(key)).IsHit);
        Assert.True(await harness.WaitForStateAsync(0, ServerState.Down, TimeSpan.FromSeconds(5)), "S0 was not marked down again");
        Assert.True(await IntegrityHarness.WaitUntilAsync(() => client.IsSharedViewFresh, TimeSpan.FromSeconds(5)));

        for (var i = 0; i < 5; i++)
        {
            Assert.NotEqual("v2", await client.GetStringAsync(key));
            await Task.Delay(50);
        }
    }
}
