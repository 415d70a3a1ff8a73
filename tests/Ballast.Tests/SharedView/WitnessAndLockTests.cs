using System.Text;
using Ballast.Pool;
using Ballast.Protocol;
using Ballast.SharedView;
using Ballast.Tests.FaultInjection;
using Ballast.Tests.Support;

namespace Ballast.Tests.SharedView;

/// <summary>Which servers hold the view, and the failback lock's owner and time to live, against real memcached.</summary>
public sealed class WitnessAndLockTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 3)]
    [InlineData(7, 3)]
    [InlineData(8, 5)]
    [InlineData(64, 5)]
    public void Witnesses_are_a_few_servers_that_every_frontend_picks_alike(int poolSize, int witnesses)
    {
        var options = new MemcachedClientOptions();
        var nodes = Enumerable.Range(0, poolSize).Select(i => new ServerNode(i, new ServerEndPoint("127.0.0.1", 20000 + i), options, TimeProvider.System, (_, _, _) => { })).ToArray();
        var chosen = MemcachedViewStore.ChooseWitnesses(nodes).Select(n => n.EndPoint.ToString()).ToArray();
        Assert.Equal(witnesses, chosen.Length);
        Assert.Equal(chosen.Length, chosen.Distinct().Count());

        // Another frontend lists the same servers in another order (its nodes are its own objects): same witnesses.
        var reversed = nodes.Reverse().Select((n, i) => new ServerNode(i, n.EndPoint, options, TimeProvider.System, (_, _, _) => { })).ToArray();
        Assert.Equal(chosen.Order(StringComparer.Ordinal), MemcachedViewStore.ChooseWitnesses(reversed).Select(n => n.EndPoint.ToString()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task The_lock_is_recognised_by_its_owner_and_refused_to_others()
    {
        await using var servers = await MemcachedServers.StartAsync(1);
        await using var node = Node(servers);
        var key = CacheKey.Create("ballast:t:last_failback:0:1", InvalidKeyHandling.Reject);
        Assert.True(await ViewLock.TryTakeAsync(node, key, ViewRecordSeal.None, "aaaa0001", TimeSpan.FromSeconds(10), TimeProvider.System, default));
        Assert.True(await ViewLock.TryTakeAsync(node, key, ViewRecordSeal.None, "aaaa0001", TimeSpan.FromSeconds(10), TimeProvider.System, default));
        Assert.False(await ViewLock.TryTakeAsync(node, key, ViewRecordSeal.None, "bbbb0002", TimeSpan.FromSeconds(10), TimeProvider.System, default));
        await ViewLock.ReleaseAsync(node, key, ViewRecordSeal.None, "bbbb0002", default);
        Assert.False(await ViewLock.TryTakeAsync(node, key, ViewRecordSeal.None, "bbbb0002", TimeSpan.FromSeconds(10), TimeProvider.System, default));
        await ViewLock.ReleaseAsync(node, key, ViewRecordSeal.None, "aaaa0001", default);
        Assert.True(await ViewLock.TryTakeAsync(node, key, ViewRecordSeal.None, "bbbb0002", TimeSpan.FromSeconds(10), TimeProvider.System, default));
    }

    [Fact]
    public async Task A_foreign_lock_stored_with_no_time_to_live_is_broken_after_the_locks_time_to_live()
    {
        await using var servers = await MemcachedServers.StartAsync(1);
        await using var node = Node(servers);
        const string Key = "ballast:t:last_failback:0:7";
        using (var raw = await TextClient.ConnectAsync(servers[0].Host, servers[0].Port))
        {
            Assert.Equal("STORED", await raw.RequestAsync("set " + Key + " 0 0 7\r\nforeign\r\n"));
        }

        var key = CacheKey.Create(Key, InvalidKeyHandling.Reject);
        Assert.False(await ViewLock.TryTakeAsync(node, key, ViewRecordSeal.None, "aaaa0001", TimeSpan.FromSeconds(1), TimeProvider.System, default));
        Assert.True(await TextClient.EventuallyAsync(
            () => ViewLock.TryTakeAsync(node, key, ViewRecordSeal.None, "aaaa0001", TimeSpan.FromSeconds(1), TimeProvider.System, default).GetAwaiter().GetResult() == true,
            TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task A_lock_past_the_expiry_its_value_states_is_broken_at_once()
    {
        await using var servers = await MemcachedServers.StartAsync(1);
        await using var node = Node(servers);
        const string Key = "ballast:t:last_failback:0:9";
        var stale = "cccc0003 " + DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds();
        using (var raw = await TextClient.ConnectAsync(servers[0].Host, servers[0].Port))
        {
            Assert.Equal("STORED", await raw.RequestAsync($"set {Key} 0 0 {stale.Length}\r\n{stale}\r\n"));
        }

        Assert.True(await ViewLock.TryTakeAsync(node, CacheKey.Create(Key, InvalidKeyHandling.Reject), ViewRecordSeal.None, "aaaa0001", TimeSpan.FromSeconds(10), TimeProvider.System, default));
    }

    /// <summary>
    /// The seed kept the failback lock on the returning server, whose flush erased it: a second frontend could take
    /// it between the flush and its re-set, and flush again (S4 on etcd counted two flushes). Held on the other
    /// witnesses, it survives the flush of every server it guards.
    /// </summary>
    [Fact]
    public async Task The_failback_lock_survives_the_flush_of_the_returning_server_so_a_second_frontend_cannot_take_it()
    {
        await using var servers = await MemcachedServers.StartAsync(3);
        var options = new MemcachedClientOptions();
        var first = servers.EndPoints.Select((e, i) => new ServerNode(i, e, options, TimeProvider.System, (_, _, _) => { })).ToArray();
        var second = servers.EndPoints.Select((e, i) => new ServerNode(i, e, options, TimeProvider.System, (_, _, _) => { })).ToArray();
        try
        {
            var a = new ViewProtocol(new MemcachedViewStore(first, first.Select(n => n.EndPoint).ToArray(), "lockpool", TimeProvider.System), first, "aaaa0001", TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), TimeProvider.System);
            var b = new ViewProtocol(new MemcachedViewStore(second, second.Select(n => n.EndPoint).ToArray(), "lockpool", TimeProvider.System), second, "bbbb0002", TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), TimeProvider.System);
            for (var returning = 0; returning < 3; returning++)
            {
                Assert.True(await a.TryTakeFailbackLockAsync(returning, 42, default));
                using (var raw = await TextClient.ConnectAsync(servers[returning].Host, servers[returning].Port))
                {
                    Assert.Equal("OK", await raw.RequestAsync("flush_all\r\n"));
                }

                Assert.False(await b.TryTakeFailbackLockAsync(returning, 42, default));
                Assert.True(await a.TryTakeFailbackLockAsync(returning, 42, default));
                Assert.True(await b.TryTakeFailbackLockAsync(returning, 43, default));
            }
        }
        finally
        {
            foreach (var node in first.Concat(second))
            {
                await node.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// A recovery's flushes wipe its pool lock on the witnesses it flushed, and it puts the lock back there: with an
    /// <c>add</c>, never a <c>set</c>. Another frontend may have taken the emptied copies in between (two flushed
    /// witnesses of three are a write quorum), and a <c>set</c> over them left two frontends each sure it held the
    /// lock, two recoveries flushing one server (simulator seed offline 2009330, on the code of that day). Mutant 53.
    /// </summary>
    [Fact]
    public async Task A_lock_put_back_after_a_flush_leaves_the_copies_another_frontend_took_meanwhile_to_it()
    {
        await using var servers = await MemcachedServers.StartAsync(3);
        var options = new MemcachedClientOptions { ConnectTimeout = TimeSpan.FromSeconds(3) }; // a loaded machine's first connections
        var first = servers.EndPoints.Select((e, i) => new ServerNode(i, e, options, TimeProvider.System, (_, _, _) => { })).ToArray();
        var second = servers.EndPoints.Select((e, i) => new ServerNode(i, e, options, TimeProvider.System, (_, _, _) => { })).ToArray();
        try
        {
            var a = new ViewProtocol(new MemcachedViewStore(first, first.Select(n => n.EndPoint).ToArray(), "putback", TimeProvider.System), first, "aaaa0001", TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), TimeProvider.System);
            var b = new ViewProtocol(new MemcachedViewStore(second, second.Select(n => n.EndPoint).ToArray(), "putback", TimeProvider.System), second, "bbbb0002", TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), TimeProvider.System);
            await using var heldByA = await a.TryTakePoolLockAsync(default);
            Assert.NotNull(heldByA);
            Assert.Null(await b.TryTakePoolLockAsync(default));

            // A's recovery flushes servers 0 and 1, wiping its lock on two witnesses of three; B takes those two copies.
            Assert.All(await OnServersAsync(servers, "flush_all\r\n", 0, 1), answer => Assert.Equal("OK", answer));
            await using var heldByB = await b.TryTakePoolLockAsync(default);
            Assert.NotNull(heldByB);

            // A puts its lock back where its flushes wiped it: B's copies stay B's, so only B holds a write quorum.
            await heldByA.RenewAfterFlushAsync([0, 1], default);
            Assert.True(await heldByB.StillHeldAsync(2, default), "the lock another frontend took after the flush was taken from it by the put-back");
            Assert.False(await heldByA.StillHeldAsync(2, default), "the put-back made its frontend a second holder of the pool lock");
        }
        finally
        {
            foreach (var node in first.Concat(second))
            {
                await node.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// A lost-record recovery's flushes wipe its lock on the witnesses among the lost servers, so a second recovery
    /// can overlap it and readmit a server while the first waits the bound. The first must then leave that server
    /// alone: its flush would restart counters under frontends already using it (a CI chaos run handed counter
    /// values out twice so, on a server with no fault). The overlapping readmission is written here by hand.
    /// </summary>
    [Fact]
    public async Task A_recovery_does_not_flush_a_server_that_another_recovery_readmitted_while_it_waited()
    {
        await using var servers = await MemcachedServers.StartAsync(3);
        var options = new MemcachedClientOptions();
        var nodes = servers.EndPoints.Select((e, i) => new ServerNode(i, e, options, TimeProvider.System, (_, _, _) => { })).ToArray();
        try
        {
            var store = new ViewProtocol(new MemcachedViewStore(nodes, nodes.Select(n => n.EndPoint).ToArray(), "overlap", TimeProvider.System), nodes, "bbbb0002", TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), TimeProvider.System);
            var straggler = TimeSpan.FromMilliseconds(200);
            await store.ReadAsync(straggler, default);
            Assert.Equal([0, 1, 2], (await store.RecoverLostAsync([0, 1, 2], default)).Recovered.Order());

            // Server 2's record is evicted from two witnesses: lost, and known to frontends (so fenced, then the bound).
            Assert.All(await OnServersAsync(servers, "delete ballast:overlap:view:2\r\n", 0, 1), answer => Assert.Equal("DELETED", answer));
            Assert.Equal("STORED", (await OnServersAsync(servers, "set sentinel 0 0 1\r\nx\r\n", 2))[0]);
            var read = await store.ReadAsync(straggler, default);
            Assert.True(read.Entries[2].AwaitsRecovery);

            var recovery = store.RecoverLostAsync([2], default);
            await Task.Delay(400);
            Assert.False(recovery.IsCompleted, "the recovery did not wait the bound after its fence");
            // As another recovery would write it: past the fence (a lost record is fenced past the clock, in ms).
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var readmitted = Encoding.ASCII.GetString(new ViewEntry(Math.Max(read.Entries[2].Epoch, now) + 1, false, now, "aaaa0001").Encode());
            Assert.All(await OnServersAsync(servers, $"set ballast:overlap:view:2 0 0 {readmitted.Length}\r\n{readmitted}\r\n", 0, 1, 2), answer => Assert.Equal("STORED", answer));

            Assert.DoesNotContain(2, (await recovery).Recovered);
            Assert.Equal("VALUE sentinel 0 1", (await OnServersAsync(servers, "get sentinel\r\n", 2))[0]);
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// A lost record is fenced past the wall clock, not at "the epoch this frontend saw + 1". Here server 0 was
    /// readmitted at X by another frontend while this one looked away, and then two witnesses lost their copy of its
    /// record (a flush, an eviction): only the third holds "up at X", and it does not answer this frontend's read. The
    /// record reads as lost, and the recovery fences it. A fence at "seen + 1" lies below X: once the third witness
    /// answers again, its older "up" copy outranks the fence, the recovery finds a record newer than its outage and
    /// leaves the server, and every read takes it up again, its data never flushed (simulator seed offline 2009330, on
    /// the code of 2026-12-07). Past the clock, the fence outranks X, and the recovery flushes and readmits the server.
    /// Mutant 56.
    /// </summary>
    [Fact]
    public async Task A_lost_record_is_fenced_above_an_older_up_copy_on_a_witness_that_did_not_answer()
    {
        await using var servers = await MemcachedServers.StartAsync(3);
        await using var link = Ballast.FaultInjection.FaultProxy.Start(servers[2].Host, servers[2].Port);
        var options = new MemcachedClientOptions
        {
            OperationTimeout = TimeSpan.FromSeconds(1),
            ConnectTimeout = TimeSpan.FromSeconds(3), // a loaded machine's first connections (the view is read from all three at once)
            ConnectVia = endPoint => endPoint.Port == servers[2].Port ? new ServerEndPoint(link.Host, link.Port) : endPoint,
        };
        var nodes = servers.EndPoints.Select((e, i) => new ServerNode(i, e, options, TimeProvider.System, (_, _, _) => { })).ToArray();
        try
        {
            var view = new ViewProtocol(new MemcachedViewStore(nodes, nodes.Select(n => n.EndPoint).ToArray(), "lostfence", TimeProvider.System), nodes, "aaaa0001", TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), TimeProvider.System);
            var straggler = TimeSpan.FromMilliseconds(200);
            var initialized = await view.InitializeAsync(default);
            Assert.True(initialized.Done, initialized.Detail);
            var seen = (await view.ReadAsync(straggler, default)).Entries[0];
            Assert.False(seen.IsDown, $"server 0 reads as {seen} in a new pool");

            // Another frontend readmitted server 0 at X (this one did not read it); then witnesses 0 and 1 lost their copy.
            var x = Math.Max(seen.Epoch, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()) + 1;
            var readmitted = Encoding.ASCII.GetString(new ViewEntry(x, false, x, "bbbb0002").Encode());
            Assert.All(await OnServersAsync(servers, $"set ballast:lostfence:view:0 0 0 {readmitted.Length}\r\n{readmitted}\r\n", 0, 1, 2), answer => Assert.Equal("STORED", answer));
            Assert.All(await OnServersAsync(servers, "delete ballast:lostfence:view:0\r\n", 0, 1), answer => Assert.Equal("DELETED", answer));
            Assert.Equal("STORED", (await OnServersAsync(servers, "set sentinel 0 0 1\r\nx\r\n", 0))[0]);

            // Witness 2 does not answer this frontend: the record reads as lost, at the epoch this frontend saw + 1.
            link.SetMode(Ballast.FaultInjection.ProxyFaultMode.Blackhole);
            var read = await view.ReadAsync(straggler, default);
            Assert.True(read.Entries[0].AwaitsRecovery && read.Entries[0].Epoch < x, $"with witness 2 silent, server 0's record reads as {read.Entries[0]}, not as lost below {x}");

            // The recovery fences it on witnesses 0 and 1, then waits the bound; witness 2 answers again meanwhile.
            var recovery = view.RecoverLostAsync([0], default);
            Assert.True(await Integrity.IntegrityHarness.WaitUntilAsync(async () => await RecordOnAsync(servers, 0) is { IsDown: true }, TimeSpan.FromSeconds(10)), "the recovery never fenced the lost record");
            link.SetMode(Ballast.FaultInjection.ProxyFaultMode.Pass);
            var fence = (await RecordOnAsync(servers, 0))!.Value;

            var recovered = (await recovery).Recovered;
            var after = (await view.ReadAsync(straggler, default)).Entries[0];
            var sentinel = (await OnServersAsync(servers, "get sentinel\r\n", 0))[0];
            var story = $"the lost record was fenced at {fence.Epoch}, the older 'up' copy on the witness that had not answered is at {x}, and server 0 reads as {after} after the recovery";
            Assert.True(recovered.Contains(0) && sentinel == "END", $"the recovery left server 0 unflushed ({(sentinel == "END" ? "its data gone" : "its data still there")}): {story}");
            Assert.True(!after.IsDown && after.Epoch > fence.Epoch && fence.Epoch > x, story);
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    /// <summary>The record of server <paramref name="index"/> as witness 0 holds it, read straight from it; null when it holds none.</summary>
    private static async Task<ViewEntry?> RecordOnAsync(MemcachedServers servers, int index)
    {
        using var raw = await TextClient.ConnectAsync(servers[0].Host, servers[0].Port);
        if (await raw.RequestAsync($"get ballast:lostfence:view:{index}\r\n") is not { } header || !header.StartsWith("VALUE", StringComparison.Ordinal))
        {
            return null;
        }

        return ViewEntry.TryDecode(Encoding.ASCII.GetBytes(await raw.ReadLineAsync() ?? string.Empty), out var entry) ? entry : null;
    }

    private static async Task<string?[]> OnServersAsync(MemcachedServers servers, string command, params int[] indexes)
    {
        var answers = new List<string?>();
        foreach (var index in indexes)
        {
            using var raw = await TextClient.ConnectAsync(servers[index].Host, servers[index].Port);
            answers.Add(await raw.RequestAsync(command));
        }

        return [.. answers];
    }

    private static ServerNode Node(MemcachedServers servers)
        => new(0, servers.EndPoints.First(), new MemcachedClientOptions(), TimeProvider.System, (_, _, _) => { });
}
