using System.Collections.Concurrent;
using System.Text;
using Ballast.Distribution;
using Ballast.Tests.Support;

namespace Ballast.Tests.Security;

/// <summary>
/// The injection corpus: keys, server strings, weights and TTLs at and past their limits. Nothing an application
/// passes may change what goes on the wire beyond the one key it names.
/// </summary>
public sealed class InjectionCorpusTests
{
    public static TheoryData<string, bool> Keys => new()
    {
        { "plain", true },
        { new string('k', 250), true },
        { new string('k', 251), false },
        { new string('k', 300), false },
        { string.Concat(Enumerable.Repeat("€", 83)) + "a", true },    // 249 + 1 = 250 bytes of UTF-8
        { string.Concat(Enumerable.Repeat("€", 84)), false },         // 252 bytes in 84 characters
        { "a\r\nflush_all", false },
        { "a\nmg b", false },
        { "a b", false },
        { "tab\there", false },
        { "nul\0", false },
        { "del\u007F", false },
        { string.Empty, false },
    };

    [Theory]
    [MemberData(nameof(Keys))]
    public async Task A_key_either_goes_on_the_wire_as_one_token_of_at_most_250_bytes_or_is_refused_before_sending(string key, bool valid)
    {
        var lines = new ConcurrentQueue<string>();
        await using var server = new MisbehavingServer(request =>
        {
            lines.Enqueue(request.Line);
            return new MisbehavingServer.Reply(MisbehavingServer.Echo(request));
        });
        await using var client = new MemcachedClient(server.ClientOptions(TimeSpan.FromSeconds(5)));

        if (valid)
        {
            await client.SetAsync(key, "v");
            Assert.True((await client.GetFromHomeServerAsync(key)).IsHit);
        }
        else
        {
            await Assert.ThrowsAsync<InvalidCacheKeyException>(async () => await client.SetAsync(key, "v"));
            await Assert.ThrowsAsync<InvalidCacheKeyException>(async () => await client.GetAsync(key));
        }

        AssertEveryKeyTokenFits(lines, valid ? 2 : 0);
    }

    [Fact]
    public async Task A_key_with_a_lone_surrogate_is_refused_before_sending()
    {
        // Not in the theory above: test runners replace a lone surrogate in theory data with U+FFFD.
        await using var server = new MisbehavingServer(request => new MisbehavingServer.Reply(MisbehavingServer.Echo(request)));
        await using var client = new MemcachedClient(server.ClientOptions(TimeSpan.FromSeconds(5)));
        var error = await Assert.ThrowsAsync<InvalidCacheKeyException>(async () => await client.SetAsync("lone\uD800surrogate", "v"));
        Assert.Contains("surrogate", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_with_any_pools_reserved_prefix_is_refused_so_no_application_write_can_lift_or_forge_a_fence()
    {
        await using var servers = await MemcachedServers.StartAsync(1);
        var options = servers.Options(o => o.SharedView.PoolName = "shop");
        await using var client = new MemcachedClient(options);

        var error = await Assert.ThrowsAsync<InvalidCacheKeyException>(async () => await client.SetAsync("ballast:shop:view:0", "up"));
        Assert.Contains("reserved", error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<InvalidCacheKeyException>(async () => await client.DeleteAsync("ballast:shop:view:0"));
        await Assert.ThrowsAsync<InvalidCacheKeyException>(async () => await client.SetAsync("ballast:shop:last_failback:0:1", "x"));
        // Another pool's records and locks too: a client of another pool on the same servers could otherwise fence, unfence
        // or flush this one's servers (every key under ballast: is some pool's).
        await Assert.ThrowsAsync<InvalidCacheKeyException>(async () => await client.SetAsync("ballast:other-pool:view:0", "1 D 0 forger"));
        await Assert.ThrowsAsync<InvalidCacheKeyException>(async () => await client.DeleteAsync("ballast:other-pool:recovery"));
        Assert.Equal(StoreStatus.Stored, (await client.SetAsync("ballast-shop-view-0", "fine")).Status);
    }

    [Fact]
    public async Task With_base64_handling_control_bytes_travel_encoded_and_a_key_too_long_once_encoded_is_refused()
    {
        var lines = new ConcurrentQueue<string>();
        await using var server = new MisbehavingServer(request =>
        {
            lines.Enqueue(request.Line);
            return new MisbehavingServer.Reply(MisbehavingServer.Echo(request));
        });
        var options = server.ClientOptions(TimeSpan.FromSeconds(5));
        options.InvalidKeyHandling = InvalidKeyHandling.Base64;
        await using var client = new MemcachedClient(options);

        await client.SetAsync("a\r\nflush_all", "v");
        await client.SetAsync(new string(' ', global::Ballast.Protocol.CacheKey.MaxBase64SourceLength), "v");
        await Assert.ThrowsAsync<InvalidCacheKeyException>(async () => await client.SetAsync(new string(' ', global::Ballast.Protocol.CacheKey.MaxBase64SourceLength + 1), "v"));

        AssertEveryKeyTokenFits(lines, 2);
        Assert.All(lines, line => Assert.Contains(" b", line, StringComparison.Ordinal));
    }

    public static TheoryData<string> BadServerStrings => new()
    {
        "host\r\n:11211",
        "127.0.0.1:11211\r\nstats",
        "ho st:11211",
        "host\u0000:11211",
        "::1:11211",
        "[::1:11211",
        "[127.0.0.1]:11211",
        "host:0",
        "host:65536",
        "host:11211:0",
        "host:11211:2147483648",
        "host:-5",
    };

    [Theory]
    [MemberData(nameof(BadServerStrings))]
    public void A_server_string_with_control_characters_or_out_of_range_parts_is_refused(string text)
    {
        var error = Assert.Throws<FormatException>(() => ServerEndPoint.Parse(text));
        Assert.DoesNotContain('\r', error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Control_characters_are_refused_by_the_constructor_too()
    {
        Assert.Throws<ArgumentException>(() => new ServerEndPoint("host\r\nX"));
        Assert.Throws<ArgumentException>(() => new ServerEndPoint("host name"));
    }

    [Fact]
    public void An_ipv6_address_in_brackets_parses_and_prints_back_in_brackets()
    {
        var server = ServerEndPoint.Parse("[::1]:11311:3");
        Assert.Equal("::1", server.Host);
        Assert.Equal(11311, server.Port);
        Assert.Equal(3, server.Weight);
        Assert.Equal("[::1]:11311", server.ToString());
        Assert.Equal(ServerEndPoint.DefaultPort, ServerEndPoint.Parse("[::1]").Port);
    }

    [Fact]
    public async Task A_client_reaches_memcached_over_ipv6_loopback()
    {
        await using var server = await global::Ballast.FaultInjection.MemcachedProcess.StartAsync(new global::Ballast.FaultInjection.MemcachedProcessOptions { BindAddress = "::1" });
        await using var client = new MemcachedClient(MemcachedClientOptions.ForServers($"[::1]:{server.Port}"));
        await client.SetAsync("v6", "yes");
        Assert.Equal("yes", await client.GetStringAsync("v6"));
    }

    [Fact]
    public void Weights_whose_points_would_overflow_are_refused_with_a_message_instead_of_giving_a_server_no_keys()
    {
        ServerEndPoint[] servers = [new("a", 11211, 20_000_000), new("b", 11211, 1)];
        foreach (var distribution in Enum.GetValues<KeyDistribution>())
        {
            var error = Assert.Throws<ArgumentException>(() => ServerLocatorFactory.Create(distribution, PeclHashFunction.Crc32, servers));
            Assert.Contains("weights add up to 20000001", error.Message, StringComparison.Ordinal);
            Assert.Contains($"{LocatorArguments.MaxTotalWeight}", error.Message, StringComparison.Ordinal);
        }

        // Below the limit a light server still gets its keys.
        var locator = new PeclConsistentLocator(PeclHashFunction.Crc32, [new("a", 11211, 100), new("b", 11211, 1)]);
        var owners = Enumerable.Range(0, 200_000).Select(i => locator.Locate(Encoding.UTF8.GetBytes($"key-{i}"))).Distinct().Count();
        Assert.Equal(2, owners);
    }

    [Fact]
    public async Task A_ttl_past_2038_is_stored_alive_until_the_latest_time_memcached_can_hold()
    {
        await using var servers = await MemcachedServers.StartAsync(1);
        await using var client = new MemcachedClient(servers.Options());

        Assert.Equal(StoreStatus.Stored, (await client.SetAsync("far-future", "v", TimeSpan.FromDays(365 * 30))).Status);
        Assert.Equal(StoreStatus.Stored, (await client.SetAsync("month", "v", TimeSpan.FromDays(31))).Status);
        Assert.Equal(StoreStatus.Stored, (await client.SetAsync("max", "v", TimeSpan.MaxValue)).Status);

        Assert.Equal("v", await client.GetStringAsync("far-future"));
        Assert.Equal("v", await client.GetStringAsync("month"));
        Assert.Equal("v", await client.GetStringAsync("max"));
        using var text = await FaultInjection.TextClient.ConnectAsync(servers[0].Host, servers[0].Port);
        var answer = await text.RequestAsync("mg far-future t\r\n");
        Assert.StartsWith("HD t", answer, StringComparison.Ordinal);
        var remaining = long.Parse(answer!["HD t".Length..], System.Globalization.CultureInfo.InvariantCulture);
        var until2038 = DateTimeOffset.FromUnixTimeSeconds(int.MaxValue) - DateTimeOffset.UtcNow;
        Assert.InRange(remaining, until2038.TotalSeconds - 120, until2038.TotalSeconds + 120);
    }

    private static void AssertEveryKeyTokenFits(IEnumerable<string> lines, int expectedDataLines)
    {
        var data = lines.Where(l => l.StartsWith("ms ", StringComparison.Ordinal) || l.StartsWith("mg ", StringComparison.Ordinal)).ToList();
        Assert.Equal(expectedDataLines, data.Count);
        foreach (var line in lines)
        {
            Assert.Matches("^(ms|mg|md|mn|version)( |$)", line);
            var parts = line.Split(' ');
            if (parts.Length > 1)
            {
                Assert.InRange(Encoding.UTF8.GetByteCount(parts[1]), 1, 250);
            }
        }
    }
}
