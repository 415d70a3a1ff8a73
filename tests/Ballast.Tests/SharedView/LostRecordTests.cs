using System.Collections.Concurrent;
using Ballast.Tests.FaultInjection;
using Ballast.Tests.Integrity;

namespace Ballast.Tests.SharedView;

/// <summary>
/// S9 and its cousins: the view's records live in volatile memcached, so an operator's <c>flush_all</c>, a restart of a
/// majority of servers, or a hostile write of a record can erase or forge a fence. A frontend that cannot prove a server
/// was not fenced must not read it before it has been flushed. Each test reads with a frontend that starts after the
/// loss, since that frontend has nothing but the records to go by.
/// </summary>
public sealed class LostRecordTests
{
    [Theory]
    [InlineData(FailoverPolicy.Offline)]
    [InlineData(FailoverPolicy.Gutter)]
    [InlineData(FailoverPolicy.Replicated)]
    public async Task S9_a_flush_all_of_the_other_servers_does_not_erase_the_fence_of_a_stalled_server(FailoverPolicy policy)
    {
        await using var harness = await IntegrityHarness.StartAsync(policy, frontendCount: 1);
        var key = harness.KeyOn(0, "s9");
        Assert.Equal(1, await harness.ReadAsync(0, key));

        // X is cut off from frontend A (its bytes are dropped: a paused process would still apply the delete queued in
        // its socket when it resumes); A's delete of k cannot land, so A fences X. Then A stops.
        harness.CutAll(0);
        Assert.Equal(2, await harness.WriteAsync(0, key));
        await harness.Frontends[0].DisposeAsync();

        // An operator flushes the other servers (which held X's fence), and X comes back with k's old value.
        Assert.All(await OnEveryServerAsync(harness, "flush_all\r\n", 1, 2), answer => Assert.Equal("OK", answer));
        harness.HealAll(0);

        await AssertNewFrontendNeverReadsAsync(harness, key, deleted: 1);
    }

    [Theory]
    [InlineData(FailoverPolicy.Offline)]
    [InlineData(FailoverPolicy.Gutter)]
    [InlineData(FailoverPolicy.Replicated)]
    public async Task A_restart_of_a_majority_of_servers_during_a_fence_does_not_lift_it(FailoverPolicy policy)
    {
        await using var harness = await IntegrityHarness.StartAsync(policy, frontendCount: 1);
        var key = await FenceServerZeroAsync(harness, "restart");

        // The two servers that hold X's fence restart empty while X is still fenced; X kept k's old value.
        await harness.Server(1).RestartAsync();
        await harness.Server(2).RestartAsync();
        harness.HealAll(0);

        await AssertNewFrontendNeverReadsAsync(harness, key, deleted: 1);
    }

    [Theory]
    [InlineData(FailoverPolicy.Offline)]
    [InlineData(FailoverPolicy.Gutter)]
    [InlineData(FailoverPolicy.Replicated)]
    public async Task A_fence_record_evicted_from_every_witness_does_not_lift_the_fence(FailoverPolicy policy)
    {
        await using var harness = await IntegrityHarness.StartAsync(policy, frontendCount: 1);
        var key = await FenceServerZeroAsync(harness, "evicted");
        var pool = harness.Frontends[0].PoolName;
        await harness.Frontends[0].DisposeAsync();

        // memcached evicts the keys read least recently last, and the view's are read four times a second, so the
        // eviction is made by hand: X's record disappears from every witness, nothing else does.
        Assert.All(await OnEveryServerAsync(harness, $"delete ballast:{pool}:view:0\r\n"), answer => Assert.Contains(answer, new[] { "DELETED", "NOT_FOUND" }));

        harness.HealAll(0);
        await AssertNewFrontendNeverReadsAsync(harness, key, deleted: 1);
    }

    [Fact]
    public void Selecting_etcd_without_endpoints_is_refused_naming_the_option()
    {
        var options = MemcachedClientOptions.ForServers("127.0.0.1:11211");
        options.SharedView.Store = SharedViewStoreKind.Etcd;
        var unregistered = Assert.Throws<ArgumentException>(() => new MemcachedClient(options));
        Assert.Contains("UseEtcdView", unregistered.Message, StringComparison.Ordinal);
        options.SharedView.UseEtcdView([]);
        var error = Assert.Throws<ArgumentException>(() => new MemcachedClient(options));
        Assert.Contains("EtcdEndpoints", error.Message, StringComparison.Ordinal);
        options.SharedView.UseEtcdView(["127.0.0.1:2379"]);
        Assert.Throws<ArgumentException>(() => new MemcachedClient(options));
    }

    [Fact]
    public async Task An_application_write_to_a_view_key_is_refused_and_names_the_key_and_the_rule()
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, frontendCount: 1);
        var client = harness.Frontends[0];
        var viewKey = $"ballast:{client.PoolName}:view:0";

        var error = await Assert.ThrowsAsync<InvalidCacheKeyException>(() => client.SetAsync(viewKey, "99 U 0 app").AsTask());
        Assert.Equal(viewKey, error.Key);
        Assert.Contains(viewKey, error.Message, StringComparison.Ordinal);
        Assert.Contains("reserved", error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<InvalidCacheKeyException>(() => client.DeleteAsync($"ballast:{client.PoolName}:last_failback:0:1").AsTask());
        await Assert.ThrowsAsync<InvalidCacheKeyException>(() => client.GetAsync(viewKey).AsTask());

        // A key that merely starts alike is the application's.
        await client.SetAsync("ballastic:view", "ok");
        Assert.Equal("ok", await client.GetStringAsync("ballastic:view"));
    }

    [Fact]
    public async Task A_forged_record_written_past_the_client_with_an_overflowing_epoch_does_not_unfence_a_server()
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, frontendCount: 1);
        var key = await FenceServerZeroAsync(harness, "forged");
        var pool = harness.Frontends[0].PoolName;
        await harness.Frontends[0].DisposeAsync();

        // Another program (not Ballast: it has no reserved keys) writes "up" over X's record on every server, with an
        // epoch no counter can follow.
        var forged = $"{long.MaxValue} U 0 forger";
        Assert.All(await OnEveryServerAsync(harness, $"set ballast:{pool}:view:0 0 0 {forged.Length}\r\n{forged}\r\n"), answer => Assert.Equal("STORED", answer));

        harness.HealAll(0);
        await AssertNewFrontendNeverReadsAsync(harness, key, deleted: 1);
    }

    /// <summary>
    /// Starts a frontend that connects straight to the servers and reads k for a while: it must never see the deleted
    /// version, and (so that the test is not passed by a frontend that reads nothing) it must come to read X again.
    /// </summary>
    private static async Task AssertNewFrontendNeverReadsAsync(IntegrityHarness harness, string key, int deleted)
    {
        var options = new MemcachedClientOptions
        {
            FailoverPolicy = harness.Policy,
            OperationTimeout = TimeSpan.FromMilliseconds(300),
            ConnectTimeout = TimeSpan.FromMilliseconds(300),
        };
        for (var s = 0; s < 3; s++)
        {
            options.Servers.Add(harness.EndPoint(s));
        }

        if (harness.Policy == FailoverPolicy.Gutter)
        {
            // The same pool as the harness's frontends (its gutter server included), so the same view records.
            options.Gutter.Servers.Add(harness.EndPoint(3));
        }

        options.FailureDetection.ProbeInterval = TimeSpan.FromMilliseconds(50);
        options.FailureDetection.MaxProbeInterval = TimeSpan.FromMilliseconds(200);
        options.Failback.MinimumDownTime = TimeSpan.FromMilliseconds(300);
        await using var frontend = new MemcachedClient(options);
        var seen = new ConcurrentBag<string?>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(4);
        var upAgain = false;
        while (DateTime.UtcNow < deadline)
        {
            seen.Add(await frontend.GetStringAsync(key));
            upAgain |= frontend.GetServerState(harness.EndPoint(0)) == ServerState.Up;
            await Task.Delay(5);
        }

        Assert.DoesNotContain($"v{deleted}", seen);
        Assert.True(upAgain, "the new frontend never readmitted the server");
    }

    /// <summary>Reads k once (caching it), cuts server 0 (X, k's server) off, deletes k so that X is fenced; returns k.</summary>
    private static async Task<string> FenceServerZeroAsync(IntegrityHarness harness, string prefix)
    {
        var key = harness.KeyOn(0, prefix);
        Assert.Equal(1, await harness.ReadAsync(0, key));
        harness.CutAll(0);
        Assert.Equal(2, await harness.WriteAsync(0, key));
        Assert.True(await harness.WaitForStateAsync(0, ServerState.Down, TimeSpan.FromSeconds(5)));
        return key;
    }

    /// <summary>Sends a raw text command straight to each server (not through Ballast); returns the first line of each answer.</summary>
    private static async Task<string?[]> OnEveryServerAsync(IntegrityHarness harness, string command, params int[] servers)
    {
        var answers = new List<string?>();
        foreach (var server in servers.Length == 0 ? [0, 1, 2] : servers)
        {
            using var raw = await TextClient.ConnectAsync(harness.Server(server).Host, harness.Server(server).Port);
            answers.Add(await raw.RequestAsync(command));
        }

        return [.. answers];
    }
}
