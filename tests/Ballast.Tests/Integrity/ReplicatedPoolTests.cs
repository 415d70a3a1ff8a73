namespace Ballast.Tests.Integrity;

/// <summary>
/// S5 (seed 000, Nathan's MultiputMemcacheDriver; PECL's memcache.redundancy): each key on two servers; one replica
/// misses a write while unreachable. Reads stay available from the other replica, and never return the old version.
/// </summary>
public sealed class ReplicatedPoolTests
{
    [Fact]
    public async Task S5_a_replica_that_missed_a_write_never_serves_the_old_version()
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Replicated, frontendCount: 2, configure: o => o.Replication.Replicas = 2);
        var key = harness.KeyOn(0, "s5");
        Assert.Equal(1, await harness.ReadAsync(0, key));
        Assert.Equal(1, await harness.ReadAsync(1, key));

        // Replica 1 (the key's own server) is unreachable while a write makes the database v2.
        harness.CutAll(0);
        Assert.Equal(2, await harness.WriteAsync(0, key));

        // Availability: while replica 1 is down, reads are still served, from the cache, by the other replica.
        Assert.Equal(2, await harness.ReadAsync(1, key));
        var cached = await harness.Frontends[1].GetAsync(key);
        Assert.True(cached.IsHit, "the surviving replica should serve the key");
        Assert.Equal("v2", cached.AsString());

        // Replica 1 returns with v1 in its memory: it is flushed before serving.
        harness.HealAll(0);
        Assert.True(await harness.WaitForStateAsync(0, ServerState.Up, TimeSpan.FromSeconds(10)));
        Assert.Equal(2, await harness.ReadAsync(0, key));
        Assert.Equal(2, await harness.ReadAsync(1, key));

        // Then the other replica fails, and replica 1 serves alone: v2 or a miss, never v1.
        foreach (var other in Enumerable.Range(1, 2))
        {
            harness.CutAll(other);
        }

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(2, await harness.ReadAsync(0, key));
            Assert.Equal(2, await harness.ReadAsync(1, key));
        }
    }

    [Fact]
    public async Task S5_when_replicas_disagree_the_newest_version_wins_and_a_newer_tombstone_makes_a_miss()
    {
        // Replicas disagree when concurrent writers reach them in different orders; plant such copies directly on
        // each real server, then read through a Replicated frontend.
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Replicated, frontendCount: 1, configure: o => o.Replication.Replicas = 3);
        await PlantAsync(harness, 0, "doc", Failover.EnvelopeKind.Versioned, 20, "new");
        await PlantAsync(harness, 1, "doc", Failover.EnvelopeKind.Versioned, 10, "old");
        Assert.Equal("new", (await harness.Frontends[0].GetAsync("doc")).AsString());

        await PlantAsync(harness, 2, "doc", Failover.EnvelopeKind.Tombstone, 30, string.Empty);
        Assert.False((await harness.Frontends[0].GetAsync("doc")).IsHit);

        // A miss on a tombstone still grants a refill lease, so the key becomes cacheable again at once.
        var read = await harness.Frontends[0].GetForRefillAsync("doc");
        Assert.NotNull(read.Lease);
        Assert.True((await harness.Frontends[0].RefillAsync("doc", "fresh"u8.ToArray(), read.Lease!)).IsStored);
        Assert.Equal("fresh", (await harness.Frontends[0].GetAsync("doc")).AsString());
    }

    private static async Task PlantAsync(IntegrityHarness harness, int server, string key, Failover.EnvelopeKind kind, long stamp, string value)
    {
        var options = new MemcachedClientOptions();
        options.Servers.Add(harness.EndPoint(server));
        options.SharedView.Enabled = false;
        await using var direct = new MemcachedClient(options);
        await direct.SetAsync(key, Failover.ValueEnvelope.Wrap(kind, stamp, System.Text.Encoding.UTF8.GetBytes(value)));
    }
}
