using Ballast.Cli.Chaos;
using Ballast.Extensions;
using Ballast.FaultInjection;
using Ballast.Tests.FaultInjection;
using Ballast.Tests.Integrity;
using Microsoft.Extensions.Caching.Distributed;

namespace Ballast.Tests.SharedView;

/// <summary>
/// The view's lease is renewed by a read every quarter of the bound, started by the client's background loop. On a
/// loaded machine that loop wakes late (a fresh-clone CI run had a read right after a successful store miss, on
/// healthy servers), and every read and store was refused until it woke. An operation that finds the lease lapsed
/// while the view is within reach now waits for the read that renews it (starting one when none is under way), and is
/// allowed or refused on the lease that read grants; when the view is out of reach it does not wait. Real memcached;
/// the loop is held by holding the client's timers.
/// </summary>
public sealed class LateViewReadTests
{
    public static TheoryData<FailoverPolicy> Policies => [FailoverPolicy.Offline, FailoverPolicy.Gutter, FailoverPolicy.Replicated];

    [Theory]
    [MemberData(nameof(Policies))]
    public async Task Operations_wait_for_the_read_that_renews_a_lease_the_late_loop_let_lapse(FailoverPolicy policy)
    {
        var servers = new List<MemcachedProcess>();
        var clock = new FrontendClock();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                servers.Add(await MemcachedProcess.StartAsync());
            }

            var options = MemcachedClientOptions.ForServers(string.Join(",", servers.Take(3).Select(s => s.EndPoint)));
            options.FailoverPolicy = policy;
            options.SharedView.Bound = TimeSpan.FromMilliseconds(400);
            if (policy == FailoverPolicy.Gutter)
            {
                options.Gutter.Servers.Add(new ServerEndPoint(servers[3].Host, servers[3].Port));
            }

            await using var client = new MemcachedClient(options, clock);
            var cache = new BallastDistributedCache(client, new BallastDistributedCacheOptions(), clock);
            Assert.True((await client.SetAsync("late-view", "v1")).IsStored);
            Assert.True((await client.SetAsync("late-view-counter", "10")).IsStored);
            await cache.SetAsync("late-view-entry", [1, 2, 3], new DistributedCacheEntryOptions());

            // The loop is held: no periodic read starts, and the lease lapses for reads after three quarters of the bound.
            clock.Stall();
            var operations = new List<(string Name, Func<Task<bool>> Succeeds)>
            {
                ("get", async () => (await client.GetAsync("late-view")).AsString() == "v1"),
                ("get into a buffer", async () => (await client.GetAsync("late-view", new System.Buffers.ArrayBufferWriter<byte>())).IsHit),
                ("get-and-touch", async () => (await client.GetAndTouchAsync("late-view", TimeSpan.FromMinutes(1))).IsHit),
                ("leased get", async () => (await client.GetForRefillAsync("late-view")).IsHit),
                ("multi-get", async () => (await client.GetManyAsync(["late-view"]))["late-view"].IsHit),
                ("GetOrCreate", async () => await client.GetOrCreateAsync("late-view-made", _ => ValueTask.FromResult("made")) == "made"
                    && await client.GetOrCreateAsync<string>("late-view-made", _ => throw new InvalidOperationException("the cached value was not read")) == "made"),
                ("set", async () => (await client.SetAsync("late-view", "v1")).IsStored),
                ("touch", () => client.TouchAsync("late-view", TimeSpan.FromMinutes(1)).AsTask()),
                ("IDistributedCache get", async () => (await cache.GetAsync("late-view-entry"))?.Length == 3),
            };
            if (policy != FailoverPolicy.Replicated)
            {
                // The replicated policy keeps no counters (its copies are versioned envelopes).
                operations.Add(("increment", async () => (await client.IncrementAsync("late-view-counter")).Value == 11));
            }

            foreach (var (name, succeeds) in operations)
            {
                Assert.True(await IntegrityHarness.WaitUntilAsync(() => !client.IsSharedViewFresh, TimeSpan.FromSeconds(10)), "the lease did not lapse with the loop held");
                Assert.False(client.IsViewCurrent);
                Assert.True(await succeeds(), $"{policy}: {name} was refused while only the view's periodic read was late");
                Assert.True(client.IsSharedViewFresh, $"{policy}: {name} went ahead without renewing the lease");
            }

            // With the view out of reach, the first operation's read ends without a quorum: it misses, and the next
            // ones do not wait for reads that cannot help.
            foreach (var server in servers)
            {
                server.Kill();
            }

            Assert.True(await IntegrityHarness.WaitUntilAsync(() => !client.IsSharedViewFresh, TimeSpan.FromSeconds(10)));
            Assert.False((await client.GetAsync("late-view")).IsHit);
            Assert.True(client.IsViewCurrent, "after a view read without a quorum, operations still wait for the next one");
            Assert.False((await client.GetAsync("late-view")).IsHit);
        }
        finally
        {
            clock.Resume();
            foreach (var server in servers)
            {
                await server.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// A caller can leave while its store waits for the read that renews a lapsed lease (a witness paused, the loop held:
    /// the read waits for its straggler). The store was never sent, so it did not land, and the key's old value must not
    /// stay: the key is invalidated, as for a store whose caller left during the first view read (mutant 62).
    /// </summary>
    [Fact]
    public async Task A_store_whose_caller_leaves_while_it_waits_for_the_renewing_read_invalidates_the_key()
    {
        var servers = new List<MemcachedProcess>();
        var clock = new FrontendClock();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                servers.Add(await MemcachedProcess.StartAsync());
            }

            var options = MemcachedClientOptions.ForServers(string.Join(",", servers.Select(s => s.EndPoint)));
            options.SharedView.Bound = TimeSpan.FromMilliseconds(400);
            await using var client = new MemcachedClient(options, clock);
            var key = Enumerable.Range(0, 1000).Select(i => $"late-view-left-{i}").First(k => client.Locate(k).Port == servers[0].Port);
            Assert.True((await client.SetAsync(key, "old")).IsStored);

            // The loop is held and witness 2 paused: the read an operation starts to renew the lease reaches a quorum,
            // then waits for its straggler on a timer the stall holds.
            clock.Stall();
            servers[2].Pause();
            Assert.True(await IntegrityHarness.WaitUntilAsync(() => !client.IsSharedViewFresh, TimeSpan.FromSeconds(10)), "the lease did not lapse with the loop held");
            using var leave = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await client.SetAsync(key, "new", cancellationToken: leave.Token));

            // The key is deleted on its own server (which answers): the old value is not served once the view is back.
            Assert.True(
                await IntegrityHarness.WaitUntilAsync(
                    async () =>
                    {
                        using var direct = await TextClient.ConnectAsync(servers[0].Host, servers[0].Port);
                        return await direct.RequestAsync($"get {key}\r\n") == "END";
                    },
                    TimeSpan.FromSeconds(5)),
                "the store whose caller left during the renewing read neither landed nor invalidated the key: its old value stays");
        }
        finally
        {
            clock.Resume();
            foreach (var server in servers)
            {
                server.Resume();
                await server.DisposeAsync();
            }
        }
    }
}
