namespace Ballast.Tests.Integrity;

/// <summary>
/// The shared view's quorums and lease, pinned by partitions that split the view replicas (the pool's servers) between
/// frontends: a frontend that reads a minority of the replicas must not trust what it reads, a fence that reached
/// a majority must beat a minority's stale record, and a fence that reached only a minority must not be reported as
/// holding.
/// </summary>
public sealed class ViewQuorumTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task A_frontend_that_reads_only_a_minority_of_the_view_stops_reading_within_the_bound()
    {
        // Frontend 0 keeps its data path to S0 but loses S1 and S2, so no read of the view reaches a majority: its
        // lease lapses, and with it every read, since a fence published meanwhile could not be known here.
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, frontendCount: 1);
        var key = harness.KeyOn(0, "lease");
        Assert.Equal(1, await harness.ReadAsync(0, key));
        Assert.True((await harness.Frontends[0].GetAsync(key)).IsHit, "the value was not cached to begin with");

        harness.Cut(0, 1);
        harness.Cut(0, 2);
        await Task.Delay(Bound + TimeSpan.FromMilliseconds(500));

        for (var i = 0; i < 5; i++)
        {
            Assert.False((await harness.Frontends[0].GetAsync(key)).IsHit, "a frontend whose view could not be read for longer than the bound still read S0");
            await Task.Delay(100);
        }

        Assert.False(harness.Frontends[0].IsSharedViewFresh);
        Assert.Equal("v1", await harness.DirectGetAsync(0, key));
    }

    [Fact]
    public async Task A_fence_held_by_a_majority_wins_over_the_one_stale_record_a_frontend_can_still_read()
    {
        // B (frontend 1) cannot reach S0: its delete fails and it fences S0 on S1 and S2. A (frontend 0) reaches
        // only S0, whose own record still says "up". One record is no quorum: A must not read S0 past the bound.
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, frontendCount: 2);
        var key = harness.KeyOn(0, "majority");
        Assert.Equal(1, await harness.ReadAsync(0, key));
        Assert.True((await harness.Frontends[0].GetAsync(key)).IsHit, "the value was not cached to begin with");

        harness.Cut(0, 1);
        harness.Cut(0, 2);
        harness.Cut(1, 0);
        Assert.Equal(2, await harness.WriteAsync(1, key));
        var completed = DateTime.UtcNow;
        Assert.Empty(harness.WriteErrors);
        Assert.Equal("v1", await harness.DirectGetAsync(0, key));

        await Task.Delay(Bound + TimeSpan.FromMilliseconds(300) - (DateTime.UtcNow - completed));
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(2, await harness.ReadAsync(0, key));
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task A_fence_that_reached_only_a_minority_is_reported_as_unconfirmed_not_as_fenced()
    {
        // B reaches only S2: its delete on S0 fails and its fence lands on S2 alone. A reads S0 and S1, a majority
        // without the fence, and keeps reading S0. So the delete must not report the server fenced.
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, frontendCount: 2);
        var key = harness.KeyOn(0, "minority");
        Assert.Equal(1, await harness.ReadAsync(0, key));

        harness.Cut(1, 0);
        harness.Cut(1, 1);
        harness.Cut(0, 2);
        var error = await Assert.ThrowsAsync<InvalidationOwedException>(async () => await harness.Frontends[1].DeleteAsync(key));
        Assert.Contains(harness.EndPoint(0).ToString(), error.Message, StringComparison.Ordinal);
        Assert.Contains($"'{key}'", error.Message, StringComparison.Ordinal);
        Assert.Contains("could not be fenced", error.Message, StringComparison.Ordinal);
    }
}
