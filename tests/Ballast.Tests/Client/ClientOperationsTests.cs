using System.Globalization;
using System.Text;
using Ballast.Tests.Support;

namespace Ballast.Tests.Client;

/// <summary>Every operation of the client against a real memcached.</summary>
public sealed class ClientOperationsTests : IAsyncLifetime
{
    private MemcachedServers _servers = null!;
    private MemcachedClient _client = null!;

    public async Task InitializeAsync()
    {
        _servers = await MemcachedServers.StartAsync(1);
        _client = new MemcachedClient(_servers.Options());
    }

    public async Task DisposeAsync()
    {
        await _client.DisposeAsync();
        await _servers.DisposeAsync();
    }

    [Fact]
    public async Task Set_then_get_returns_the_bytes_flags_and_a_cas()
    {
        var stored = await _client.SetAsync("greeting", "hello", TimeSpan.FromMinutes(5));
        var read = await _client.GetAsync("greeting");
        Assert.Equal(StoreStatus.Stored, stored.Status);
        Assert.True(read.IsHit);
        Assert.Equal("hello", read.AsString());
        Assert.Equal(0u, read.Flags);
        Assert.Equal(stored.Cas, read.Cas);
        Assert.NotEqual(0ul, read.Cas);
    }

    [Fact]
    public async Task Get_of_a_missing_key_is_a_miss()
    {
        var read = await _client.GetAsync("never-set");
        Assert.False(read.IsHit);
        Assert.Null(read.Value);
    }

    [Fact]
    public async Task Client_flags_round_trip()
    {
        await _client.SetAsync("flagged", new byte[] { 1, 2, 3 }, flags: 0xDEADBEEF);
        var read = await _client.GetAsync("flagged");
        Assert.Equal(0xDEADBEEFu, read.Flags);
        Assert.Equal(new byte[] { 1, 2, 3 }, read.Value);
    }

    [Fact]
    public async Task Add_replace_append_prepend_follow_memcached_semantics()
    {
        Assert.Equal(StoreStatus.NotStored, (await _client.ReplaceAsync("k-arp", "x"u8.ToArray())).Status);
        Assert.Equal(StoreStatus.NotStored, (await _client.AppendAsync("k-arp", "x"u8.ToArray())).Status);
        Assert.Equal(StoreStatus.Stored, (await _client.AddAsync("k-arp", "mid"u8.ToArray())).Status);
        Assert.Equal(StoreStatus.NotStored, (await _client.AddAsync("k-arp", "again"u8.ToArray())).Status);
        Assert.Equal(StoreStatus.Stored, (await _client.AppendAsync("k-arp", ">"u8.ToArray())).Status);
        Assert.Equal(StoreStatus.Stored, (await _client.PrependAsync("k-arp", "<"u8.ToArray())).Status);
        Assert.Equal("<mid>", await _client.GetStringAsync("k-arp"));
        Assert.Equal(StoreStatus.Stored, (await _client.ReplaceAsync("k-arp", "new"u8.ToArray())).Status);
        Assert.Equal("new", await _client.GetStringAsync("k-arp"));
    }

    [Fact]
    public async Task Compare_and_swap_detects_a_concurrent_change()
    {
        await _client.SetAsync("k-cas", "v1");
        var read = await _client.GetAsync("k-cas");
        await _client.SetAsync("k-cas", "v2");
        var stale = await _client.CompareAndSwapAsync("k-cas", "v3"u8.ToArray(), read.Cas);
        Assert.Equal(StoreStatus.Exists, stale.Status);
        var fresh = await _client.GetAsync("k-cas");
        var swapped = await _client.CompareAndSwapAsync("k-cas", "v4"u8.ToArray(), fresh.Cas);
        Assert.Equal(StoreStatus.Stored, swapped.Status);
        Assert.Equal("v4", await _client.GetStringAsync("k-cas"));
        await _client.DeleteAsync("k-cas");
        Assert.Equal(StoreStatus.NotFound, (await _client.CompareAndSwapAsync("k-cas", "v5"u8.ToArray(), swapped.Cas)).Status);
    }

    [Fact]
    public async Task Delete_reports_deleted_then_not_found()
    {
        await _client.SetAsync("k-del", "v");
        Assert.Equal(DeleteStatus.Deleted, await _client.DeleteAsync("k-del"));
        Assert.Equal(DeleteStatus.NotFound, await _client.DeleteAsync("k-del"));
        Assert.False((await _client.GetAsync("k-del")).IsHit);
    }

    [Fact]
    public async Task Counters_increment_decrement_and_start_from_an_initial_value()
    {
        Assert.False((await _client.IncrementAsync("ctr")).Found);
        Assert.Equal(new CounterResult(true, 100), await _client.IncrementAsync("ctr", 5, initial: 100));
        Assert.Equal(new CounterResult(true, 105), await _client.IncrementAsync("ctr", 5));
        Assert.Equal(new CounterResult(true, 102), await _client.DecrementAsync("ctr", 3));
        Assert.Equal(new CounterResult(true, 0), await _client.DecrementAsync("ctr", 1000));
        Assert.Equal("0", (await _client.GetStringAsync("ctr"))?.TrimEnd());
    }

    [Fact]
    public async Task Touch_and_get_and_touch_change_the_ttl()
    {
        Assert.False(await _client.TouchAsync("k-touch-missing", TimeSpan.FromSeconds(10)));
        await _client.SetAsync("k-touch", "v", TimeSpan.FromSeconds(1));
        Assert.True(await _client.TouchAsync("k-touch", TimeSpan.FromSeconds(100)));
        var read = await _client.GetAndTouchAsync("k-touch", TimeSpan.FromSeconds(200));
        Assert.Equal("v", read.AsString());
        var stats = await _client.StatsAsync();
        Assert.True(long.Parse(stats[0].Values!["touch_hits"], System.Globalization.CultureInfo.InvariantCulture) >= 1);
    }

    [Fact]
    public async Task Expired_items_are_misses()
    {
        await _client.SetAsync("k-exp", "v", TimeSpan.FromSeconds(1));
        Assert.True((await _client.GetAsync("k-exp")).IsHit);
        await Task.Delay(TimeSpan.FromMilliseconds(2100));
        Assert.False((await _client.GetAsync("k-exp")).IsHit);
    }

    [Fact]
    public async Task Get_many_returns_every_key_hits_and_misses()
    {
        var keys = Enumerable.Range(0, 200).Select(i => $"many-{i}").ToArray();
        foreach (var key in keys.Where((_, i) => i % 2 == 0))
        {
            await _client.SetAsync(key, key + "-value");
        }

        var results = await _client.GetManyAsync(keys.Append("many-0"));
        Assert.Equal(keys.Length, results.Count);
        for (var i = 0; i < keys.Length; i++)
        {
            Assert.Equal(i % 2 == 0 ? keys[i] + "-value" : null, results[keys[i]].AsString());
        }
    }

    [Fact]
    public async Task Get_many_over_three_servers_maps_each_value_back_to_its_key_and_a_dead_servers_keys_are_misses()
    {
        await using var servers = await MemcachedServers.StartAsync(3);
        await using var client = new MemcachedClient(servers.Options(o => o.SharedView.Enabled = false));
        var keys = Enumerable.Range(0, 90).Select(i => $"spread-{i}").ToArray();
        foreach (var key in keys)
        {
            await client.SetAsync(key, key + "-value");
        }

        var healthy = await client.GetManyAsync(keys);
        await servers[1].DisposeAsync();
        var dead = servers[1].EndPoint;
        var degraded = await client.GetManyAsync(keys);

        Assert.All(keys, key => Assert.Equal(key + "-value", healthy[key].AsString()));
        Assert.Contains(keys, key => client.Locate(key).ToString() == dead);
        Assert.All(keys, key => Assert.Equal(client.Locate(key).ToString() == dead ? null : key + "-value", degraded[key].AsString()));
    }

    [Fact]
    public async Task Get_many_presents_like_get_a_stale_item_and_a_lease_placeholder_are_misses()
    {
        await _client.SetAsync("many-stale", "old");
        await _client.SetAsync("many-fresh", "new");
        Assert.True(await _client.MarkStaleAsync("many-stale", TimeSpan.FromSeconds(30)));
        Assert.NotNull((await _client.GetForRefillAsync("many-leased")).Lease);

        var results = await _client.GetManyAsync(["many-stale", "many-leased", "many-fresh"]);

        Assert.False(results["many-stale"].IsHit);
        Assert.False(results["many-leased"].IsHit);
        Assert.Equal("new", results["many-fresh"].AsString());
    }

    [Fact]
    public async Task Flush_all_empties_the_server_and_counts_a_flush()
    {
        // Counted from here: a flush_all also erases the shared view's records, and the pool fails closed on that by
        // flushing each server once more (under its recovery lock) before it reads it again.
        await _client.SetAsync("k-flush", "v");
        var before = long.Parse((await _client.StatsAsync())[0].Values!["cmd_flush"], CultureInfo.InvariantCulture);
        await _client.FlushAllAsync();
        Assert.False((await _client.GetAsync("k-flush")).IsHit);
        var stats = await _client.StatsAsync();
        Assert.InRange(long.Parse(stats[0].Values!["cmd_flush"], CultureInfo.InvariantCulture), before + 1, before + 2);
    }

    [Fact]
    public async Task Version_and_stats_name_each_server()
    {
        var versions = await _client.VersionAsync();
        Assert.Matches(@"^1\.\d+\.\d+", versions.Single().Value);
        var stats = await _client.StatsAsync();
        Assert.Equal(_servers[0].Port.ToString(System.Globalization.CultureInfo.InvariantCulture), stats.Single().Server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(stats.Single().Values!.ContainsKey("curr_connections"));
    }

    [Fact]
    public async Task Large_values_round_trip_and_oversized_ones_are_refused_before_sending()
    {
        var large = new byte[900_000];
        Random.Shared.NextBytes(large);
        await _client.SetAsync("k-large", large);
        Assert.Equal(large, (await _client.GetAsync("k-large")).Value);

        var error = await Assert.ThrowsAsync<CacheValueTooLargeException>(async () => await _client.SetAsync("k-huge", new byte[2 * 1024 * 1024]));
        Assert.Contains("k-huge", error.Message, StringComparison.Ordinal);
        Assert.Contains(_servers[0].EndPoint, error.Message, StringComparison.Ordinal);
        Assert.Equal("v", await RoundTripAsync("k-after-huge", "v"));
    }

    [Fact]
    public async Task Unicode_keys_and_values_round_trip()
    {
        await _client.SetAsync("ключ-日本-🙂", "значение-値");
        Assert.Equal("значение-値", await _client.GetStringAsync("ключ-日本-🙂"));
    }

    [Theory]
    [InlineData("bad key")]
    [InlineData("inject\r\nflush_all")]
    [InlineData("tab\tkey")]
    [InlineData("nul\0key")]
    [InlineData("del\u007fkey")]
    [InlineData("")]
    public async Task Keys_that_break_the_rules_are_rejected_and_never_reach_the_server(string key)
    {
        // A server of its own and a client without the shared view, so that no background read (this class's other
        // client polls the view on the shared server) moves the command counters.
        await using var server = await MemcachedServers.StartAsync(1);
        await using var client = new MemcachedClient(server.Options(o => o.SharedView.Enabled = false));
        await client.SetAsync("sentinel", "still-here");
        var before = await CommandCountAsync(client);
        var error = await Assert.ThrowsAsync<InvalidCacheKeyException>(async () => await client.SetAsync(key, "x"));
        Assert.Contains("Invalid key", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, await CommandCountAsync(client));
        Assert.Equal("still-here", await client.GetStringAsync("sentinel"));
    }

    [Fact]
    public async Task A_key_longer_than_250_bytes_is_rejected_naming_the_rule()
    {
        var error = await Assert.ThrowsAsync<InvalidCacheKeyException>(async () => await _client.GetAsync(new string('é', 126)));
        Assert.Contains("250 bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_base64_handling_keys_with_spaces_are_stored_and_kept_apart()
    {
        await using var client = new MemcachedClient(_servers.Options(o => o.InvalidKeyHandling = InvalidKeyHandling.Base64));
        Assert.False((await client.GetAsync("has_space")).IsHit);
        var flushesBefore = (await client.StatsAsync())[0].Values!["cmd_flush"];
        await client.SetAsync("has space", "a");
        await client.SetAsync("has\r\nflush_all", "b");
        Assert.Equal("a", await client.GetStringAsync("has space"));
        Assert.Equal("b", await client.GetStringAsync("has\r\nflush_all"));
        Assert.False((await client.GetAsync("has_space")).IsHit);
        var stats = await client.StatsAsync();
        Assert.Equal(flushesBefore, stats[0].Values!["cmd_flush"]);
    }

    [Fact]
    public async Task Refill_lease_is_voided_by_a_delete_in_between()
    {
        var miss = await _client.GetForRefillAsync("k-lease");
        Assert.False(miss.IsHit);
        Assert.NotNull(miss.Lease);

        var second = await _client.GetForRefillAsync("k-lease");
        Assert.False(second.IsHit);
        Assert.Null(second.Lease);

        await _client.DeleteAsync("k-lease");
        var refill = await _client.RefillAsync("k-lease", "old"u8.ToArray(), miss.Lease!);
        Assert.False(refill.IsStored);
        Assert.False((await _client.GetAsync("k-lease")).IsHit);

        var again = await _client.GetForRefillAsync("k-lease");
        Assert.Equal(StoreStatus.Stored, (await _client.RefillAsync("k-lease", "fresh"u8.ToArray(), again.Lease!)).Status);
        Assert.Equal("fresh", await _client.GetStringAsync("k-lease"));
    }

    [Fact]
    public async Task Mark_stale_makes_reads_miss_and_hands_one_caller_the_refill()
    {
        await _client.SetAsync("k-stale", "old");
        Assert.True(await _client.MarkStaleAsync("k-stale", TimeSpan.FromSeconds(30)));
        Assert.False(await _client.MarkStaleAsync("k-stale-missing", TimeSpan.FromSeconds(30)));

        // memcached hands the win flag to the first read of a stale item, whatever kind of read it is.
        var winner = await _client.GetForRefillAsync("k-stale");
        var loser = await _client.GetForRefillAsync("k-stale");
        Assert.NotNull(winner.Lease);
        Assert.Null(loser.Lease);
        Assert.False((await _client.GetAsync("k-stale")).IsHit);
        Assert.True((await _client.RefillAsync("k-stale", "new"u8.ToArray(), winner.Lease!)).IsStored);
        Assert.Equal("new", await _client.GetStringAsync("k-stale"));
    }

    private async Task<string?> RoundTripAsync(string key, string value)
    {
        await _client.SetAsync(key, value);
        return await _client.GetStringAsync(key);
    }

    private static async Task<long> CommandCountAsync(MemcachedClient client)
    {
        var stats = (await client.StatsAsync())[0].Values!;
        return new[] { "cmd_get", "cmd_set", "cmd_flush", "cmd_touch", "cmd_meta" }
            .Sum(name => stats.TryGetValue(name, out var v) ? long.Parse(v, System.Globalization.CultureInfo.InvariantCulture) : 0);
    }
}
