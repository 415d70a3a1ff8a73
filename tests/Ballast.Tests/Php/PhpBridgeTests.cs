using System.Globalization;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Ballast.Pool;
using Ballast.SharedView;
using Ballast.Tests.Integrity;
using Ballast.FaultInjection;

namespace Ballast.Tests.Php;

/// <summary>
/// The PHP bridge (<c>php/ballast.php</c>) beside the library against real memcached processes, with both PHP
/// extensions: PHP reads the view the library wrote and the library the fences PHP wrote, a fenced server's keys are
/// misses in PHP, and its old values are never read after it returns (the library's failback flush). The control, bare
/// php-memcache with its default failover, reads the old value in the same scenario. Timing-sensitive (pauses, the
/// bound), so the tests run alone.
/// </summary>
[Collection(WallClockBoundCollection.Name)]
public sealed class PhpBridgeTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(1);

    public static TheoryData<string, string> Extensions => new()
    {
        { "memcache", "pecl-consistent" },
        { "memcached", "ketama" },
    };

    [Theory]
    [MemberData(nameof(Extensions))]
    public async Task Php_reads_the_view_the_library_wrote_and_places_keys_alike(string extension, string distribution)
    {
        await using var servers = await ProxiedServers.StartAsync(3);
        await using var dotnet = await StartDotNetAsync(servers, distribution);
        using var php = PhpFrontend.Open(extension, servers.List, distribution);

        php.Refresh();
        var state = php.State(3);
        Assert.True(state["fresh"]!.GetValue<bool>(), "the bridge's first read of the view reached no quorum");
        for (var s = 0; s < 3; s++)
        {
            var record = await ReadRecordAsync(servers.Servers[s], RecordKey(servers, s));
            var entry = state["entries"]![s]!;
            Assert.False(entry["down"]!.GetValue<bool>(), $"server {s} is down in PHP's view: {entry.ToJsonString()}");
            Assert.Equal(record.Split(' ')[0], entry["epoch"]!.GetValue<long>().ToString(CultureInfo.InvariantCulture));
        }

        for (var i = 0; i < 40; i++)
        {
            var fromDotNet = $"conf:net:{i}";
            var fromPhp = $"conf:php:{i}";
            Assert.True((await dotnet.SetAsync(fromDotNet, $"n{i}")).IsStored);
            Assert.True(php.Set(fromPhp, $"p{i}"), $"PHP's set of {fromPhp} failed; its view: {php.State(3).ToJsonString()}; stderr: {php.Errors}");
            Assert.Equal($"n{i}", php.Get(fromDotNet));
            Assert.Equal($"p{i}", (await dotnet.GetAsync(fromPhp)).AsString());
            Assert.Equal(servers.EndPoints.ToList().IndexOf(dotnet.Locate(fromPhp)), php.ServerOf(fromPhp));
        }
    }

    [Theory]
    [MemberData(nameof(Extensions))]
    public async Task Refill_leases_are_shared_with_the_library_and_a_delete_voids_them(string extension, string distribution)
    {
        await using var servers = await ProxiedServers.StartAsync(3);
        await using var dotnet = await StartDotNetAsync(servers, distribution);
        using var php = PhpFrontend.Open(extension, servers.List, distribution);

        // PHP wins the lease; a .NET delete (a write) voids it, so PHP's refill with the value it read before cannot land.
        var first = php.Call(new JsonObject { ["op"] = "getForRefill", ["key"] = "lease:1" });
        Assert.Null(first["value"]);
        var lease = first["lease"]!.GetValue<long>();
        Assert.True((await dotnet.GetForRefillAsync("lease:1")).Lease is null, "the .NET frontend won a lease PHP holds");
        await dotnet.DeleteAsync("lease:1");
        Assert.False(php.Call(new JsonObject { ["op"] = "refill", ["key"] = "lease:1", ["value"] = "before-the-write", ["lease"] = lease })!.GetValue<bool>());
        Assert.False((await dotnet.GetAsync("lease:1")).IsHit);

        // .NET wins it: PHP sees the placeholder as a miss without a lease, and reads the .NET refill afterwards.
        var dotnetRead = await dotnet.GetForRefillAsync("lease:2");
        Assert.NotNull(dotnetRead.Lease);
        var second = php.Call(new JsonObject { ["op"] = "getForRefill", ["key"] = "lease:2" });
        Assert.Null(second["value"]);
        Assert.Null(second["lease"]);
        Assert.Null(php.Get("lease:2"));
        Assert.True((await dotnet.RefillAsync("lease:2", "from-dotnet"u8.ToArray(), dotnetRead.Lease!)).IsStored);
        Assert.Equal("from-dotnet", php.Get("lease:2"));
        Assert.Equal("from-dotnet", php.Call(new JsonObject { ["op"] = "getForRefill", ["key"] = "lease:2" })["value"]!.GetValue<string>());
    }

    [Theory]
    [MemberData(nameof(Extensions))]
    public async Task Php_get_misses_on_a_value_the_library_marked_stale_and_leaves_the_refill_to_a_library_reader(string extension, string distribution)
    {
        await using var servers = await ProxiedServers.StartAsync(3);
        await using var dotnet = await StartDotNetAsync(servers, distribution);
        using var php = PhpFrontend.Open(extension, servers.List, distribution);
        var served = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            var key = string.Create(CultureInfo.InvariantCulture, $"stale:{i}");
            Assert.True(php.Set(key, "old"));
            Assert.Equal("old", php.Get(key));
            Assert.True(await dotnet.MarkStaleAsync(key, TimeSpan.FromSeconds(30)));

            // The first read of a stale item takes memcached's refill token (W), the next ones see it taken (Z): neither serves.
            foreach (var read in new[] { php.Get(key), php.Get(key) })
            {
                if (read is not null)
                {
                    served.Add($"{key}={read}");
                }
            }

            // The bridge's get refills nothing, so it gave the token back: a library reader still wins the refill.
            var refill = await dotnet.GetForRefillAsync(key);
            Assert.False(refill.IsHit);
            Assert.True(refill.Lease is not null, $"{key}: no library reader could win the refill after PHP's reads");
            Assert.True((await dotnet.RefillAsync(key, "new"u8.ToArray(), refill.Lease!)).IsStored);
            Assert.Equal("new", php.Get(key));
        }

        Assert.True(served.Count == 0, $"PHP's get served {served.Count} values .NET had marked stale: {string.Join(", ", served)}");

        // A lease placeholder a library reader holds (won: its refill is under way) is no value either.
        var won = await dotnet.GetForRefillAsync("placeholder:1");
        Assert.NotNull(won.Lease);
        Assert.Null(php.Get("placeholder:1"));
        Assert.True((await dotnet.RefillAsync("placeholder:1", "filled"u8.ToArray(), won.Lease!)).IsStored);
        Assert.Equal("filled", php.Get("placeholder:1"));
    }

    [Theory]
    [MemberData(nameof(Extensions))]
    public async Task Php_misses_on_the_keys_of_a_server_the_library_fenced_though_it_still_reaches_it(string extension, string distribution)
    {
        // Only the .NET frontend's link to the server is cut: its delete cannot land and it fences the server. PHP still
        // reaches the server, which still holds the old value: the bridge must miss on it, from the fence to the flush.
        await using var scenario = await Scenario.StartAsync(extension, distribution, "net-fence");
        var (servers, dotnet, php, cut, key) = scenario;

        servers.Cut(cut, php: false, dotnet: true);
        try
        {
            Assert.Equal(DeleteStatus.ServerFenced, await dotnet.DeleteAsync(key));
            var fencedAt = DateTime.UtcNow;
            Thread.Sleep(Bound / 4 + TimeSpan.FromMilliseconds(50));
            while (DateTime.UtcNow - fencedAt < TimeSpan.FromSeconds(1.5))
            {
                Assert.Null(php.Get(key));
                Thread.Sleep(20);
            }

            var entry = php.State(4)["entries"]![cut]!;
            Assert.True(entry["down"]!.GetValue<bool>(), $"PHP's view does not have the .NET fence: {entry.ToJsonString()}");
            Assert.False(entry["lost"]!.GetValue<bool>());
            Assert.Equal("old", await ReadValueAsync(servers.Servers[cut], key)); // what the bridge refused to serve
        }
        finally
        {
            servers.Cut(cut, php: false, dotnet: false);
        }

        await AssertReadmittedAndFlushedAsync(dotnet, php, servers, cut, key);
    }

    [Theory]
    [MemberData(nameof(Extensions))]
    public async Task A_fence_php_publishes_is_honored_by_the_library_though_it_still_reaches_the_server(string extension, string distribution)
    {
        // Only PHP's link is cut: its delete cannot land and the bridge fences the server. The .NET frontend, which sends
        // the server nothing (it holds no view record) and still reaches it, learns of the outage only from that fence.
        await using var scenario = await Scenario.StartAsync(extension, distribution, "php-fence");
        var (servers, dotnet, php, cut, key) = scenario;
        Assert.Equal("old", (await dotnet.GetAsync(key)).AsString());

        servers.Cut(cut, php: true, dotnet: false);
        try
        {
            Assert.True(php.Delete(key), "the bridge's delete neither confirmed nor fenced");
            var entry = php.State(4)["entries"]![cut]!;
            Assert.True(entry["down"]!.GetValue<bool>());
            Assert.Equal(1, php.State(4)["counters"]!["fences_published"]!.GetValue<int>());
            var record = await ReadRecordAsync(servers.Servers[servers.Witnesses()[0]], RecordKey(servers, cut));
            Assert.Equal($"{entry["epoch"]} D", string.Join(' ', record.Split(' ')[..2]));
            Assert.Equal(entry["writer"]!.GetValue<string>(), record.Split(' ')[3]);
            Assert.True(await IntegrityHarness.WaitUntilAsync(() => dotnet.GetServerState(servers.EndPoints[cut]) == ServerState.Down, Bound), "the .NET frontend did not take PHP's fence within the bound");
            Assert.False((await dotnet.GetAsync(key)).IsHit);
        }
        finally
        {
            servers.Cut(cut, php: false, dotnet: false);
        }

        await AssertReadmittedAndFlushedAsync(dotnet, php, servers, cut, key);
    }

    [Theory]
    [MemberData(nameof(Extensions))]
    public async Task After_an_outage_php_never_reads_the_old_value_before_or_after_the_failback_flush(string extension, string distribution)
    {
        await using var scenario = await Scenario.StartAsync(extension, distribution, "outage", minimumDownTime: TimeSpan.FromSeconds(2.5));
        var (servers, dotnet, php, stalled, key) = scenario;
        Assert.Equal("old", php.Get(key));

        servers.Cut(stalled, php: true, dotnet: true);
        try
        {
            Assert.True(php.Delete(key), "the bridge's delete neither confirmed nor fenced");
            Assert.Null(php.Get(key));
        }
        finally
        {
            servers.Cut(stalled, php: false, dotnet: false);
        }

        // Back for everyone, unflushed (the delete never landed) until the .NET frontend's failback 2.5 s after the
        // fence: the extension reaches it again after its 1 s retry interval, and only the fence keeps PHP off it.
        Assert.Equal("old", await ReadValueAsync(servers.Servers[stalled], key));
        await AssertReadmittedAndFlushedAsync(dotnet, php, servers, stalled, key);
    }

    [Fact]
    public async Task Control_bare_php_memcache_with_its_failover_reads_the_old_value_after_the_server_returns()
    {
        await using var servers = await ProxiedServers.StartAsync(4);
        using var php = PhpFrontend.Open("memcache", servers.List, "pecl-consistent", bare: true);
        using var locator = PhpFrontend.Open("memcache", servers.List, "pecl-consistent");
        var stalled = servers.NonWitness();
        var key = KeyOn(locator, stalled, "outage");
        Assert.True(php.Set(key, "old"));

        servers.Cut(stalled, php: true, dotnet: true);
        try
        {
            php.Delete(key); // PECL's failover sends it to another server: the old value stays where it was.
        }
        finally
        {
            servers.Cut(stalled, php: false, dotnet: false);
        }

        // Past the extension's retry interval (1 s here) it reads the returned server again, unflushed.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(3);
        string? read;
        while ((read = php.Get(key)) is null && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(50);
        }

        Assert.Equal("old", read);
    }

    [Theory]
    [MemberData(nameof(Extensions))]
    public async Task Without_a_majority_read_within_the_bound_php_misses_on_every_server(string extension, string distribution)
    {
        await using var servers = await ProxiedServers.StartAsync(3);
        await (await StartDotNetAsync(servers, distribution)).DisposeAsync(); // writes the records, then leaves
        using var php = PhpFrontend.Open(extension, servers.List, distribution);
        var healthy = 0;
        var key = KeyOn(php, healthy, "lease");
        Assert.True(php.Set(key, "v"));
        Assert.Equal("v", php.Get(key));

        servers.Servers[1].Pause();
        servers.Servers[2].Pause();
        try
        {
            Thread.Sleep(Bound + TimeSpan.FromMilliseconds(100));
            Assert.Null(php.Get(key));
            Assert.False(php.State(3)["fresh"]!.GetValue<bool>());
        }
        finally
        {
            servers.Servers[1].Resume();
            servers.Servers[2].Resume();
        }

        Thread.Sleep(Bound / 4);
        Assert.Equal("v", php.Get(key)); // the lease is back; the key's server was never fenced
    }

    /// <summary>
    /// The bridge serves reads on a view read within three quarters of the bound, as the .NET frontends do: a .NET
    /// invalidation whose caller left fences its server a quarter of the bound after the call returned, and a reader
    /// whose view was read just before must still stop within the bound of the return (simulator seed gutter 22021).
    /// Bound 8 s here: the view is read, two of three witnesses pause, and a read 6.2 s later (ending before 8 s) must miss.
    /// </summary>
    [Theory]
    [MemberData(nameof(Extensions))]
    public async Task Php_reads_only_within_three_quarters_of_the_bound_of_its_last_view_read(string extension, string distribution)
    {
        await using var servers = await ProxiedServers.StartAsync(3);
        await (await StartDotNetAsync(servers, distribution)).DisposeAsync(); // writes the records, then leaves
        // A view read held up by the paused witnesses ends at the request timeout (1 s), well within this bound.
        using var php = PhpFrontend.Open(extension, servers.List, distribution, boundMs: 8000);
        var key = KeyOn(php, 0, "read-lease");
        Assert.True(php.Set(key, "v"));
        Assert.Equal("v", php.Get(key));

        php.Refresh();
        var read = System.Diagnostics.Stopwatch.StartNew();
        servers.Servers[1].Pause();
        servers.Servers[2].Pause();
        try
        {
            Thread.Sleep(TimeSpan.FromMilliseconds(6200));
            Assert.Null(php.Get(key));
            Assert.True(read.Elapsed < TimeSpan.FromMilliseconds(8000), $"the read ended {read.ElapsedMilliseconds} ms after the view was read, past the whole bound: the test did not tell the two leases apart");
        }
        finally
        {
            servers.Servers[1].Resume();
            servers.Servers[2].Resume();
        }
    }

    [Theory]
    [MemberData(nameof(Extensions))]
    public async Task Lost_records_make_php_miss_until_the_library_has_flushed_and_recovered_them(string extension, string distribution)
    {
        // An operator flushes two of the three witnesses: no record is vouched for by a read quorum any more, so every
        // server is lost. PHP must miss on every key (though server 0 still holds its value) until a .NET frontend has
        // fenced, flushed and readmitted the servers; after that the value is gone.
        await using var servers = await ProxiedServers.StartAsync(3);
        await using var dotnet = await StartDotNetAsync(servers, distribution);
        using var php = PhpFrontend.Open(extension, servers.List, distribution);
        var key = KeyOn(php, 0, "lost");
        Assert.True(php.Set(key, "before-the-loss"));
        Assert.Equal("before-the-loss", php.Get(key));

        await FlushAsync(servers.Servers[1]);
        await FlushAsync(servers.Servers[2]);
        php.Refresh();
        var entry = php.State(3)["entries"]![0]!;
        Assert.True(entry["lost"]!.GetValue<bool>() || entry["writer"]!.GetValue<string>() == "lost", $"PHP did not find server 0's record lost: {entry.ToJsonString()}");
        Assert.Null(php.Get(key));
        Assert.Equal("before-the-loss", await ReadValueAsync(servers.Servers[0], key)); // what the bridge refused to serve

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (php.State(3)["entries"]![0]!["down"]!.GetValue<bool>())
        {
            Assert.True(DateTime.UtcNow < deadline, "the .NET frontend did not recover the lost records within 10 s");
            Assert.Null(php.Get(key));
            Thread.Sleep(50);
        }

        Assert.Null(php.Get(key));
        Assert.Null(await ReadValueAsync(servers.Servers[0], key));
    }

    [Fact]
    public async Task The_bridge_refuses_a_gutter_pool_with_a_clear_error()
    {
        // Its deletes would not reach the gutter copies the .NET frontends serve during an outage: it must not run there.
        await using var servers = await ProxiedServers.StartAsync(4);
        var options = new MemcachedClientOptions { FailoverPolicy = FailoverPolicy.Gutter, Distribution = KeyDistribution.PeclConsistent, ConnectVia = servers.ConnectVia };
        foreach (var endPoint in servers.EndPoints.Take(3))
        {
            options.Servers.Add(endPoint);
        }

        options.Gutter.Servers.Add(servers.EndPoints[3]);
        await using var dotnet = new MemcachedClient(options);
        // A fresh view is not yet a written one: the new pool's recovery writes every record (the gutter's among them)
        // after its first read, and the bridge knows the policy only from that record (a loaded CI machine read first).
        Assert.True(await IntegrityHarness.WaitUntilAsync(() => dotnet.IsSharedViewFresh && servers.EndPoints.All(e => dotnet.GetServerState(e) == ServerState.Up && dotnet.ViewEpochOf(e) > 0), TimeSpan.FromSeconds(10)));
        using var php = PhpFrontend.Open("memcache", string.Join(',', servers.EndPoints.Take(3).Select(e => e.ToString())), "pecl-consistent");
        var error = Assert.Throws<PhpException>(() => php.Get("any"));
        Assert.Contains("Gutter policy", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("pecl-consistent", "crc32")]
    [InlineData("pecl-consistent", "fnv")]
    [InlineData("pecl-standard", "crc32")]
    [InlineData("pecl-standard", "fnv")]
    [InlineData("ketama", "crc32")]
    [InlineData("modula", "crc32")]
    public void The_bridge_places_keys_as_the_library_does(string distribution, string hash)
    {
        // Servers with weights, port 11211 and others (ketama names them differently), and non-ASCII keys (FNV's signed char).
        var servers = new[] { new ServerEndPoint("127.0.0.1", 11211, 2), new ServerEndPoint("10.0.0.7", 11311), new ServerEndPoint("cache-3.internal", 11212, 3), new ServerEndPoint("127.0.0.1", 11213) };
        var keys = Enumerable.Range(0, 600).Select(i => (i % 3) switch { 0 => $"user:{i}", 1 => $"ключ-{i}-日本", _ => $"s_{i:x8}_{new string('k', i % 90)}" }).ToArray();
        using var php = PhpFrontend.Open("memcache", "127.0.0.1:1", "pecl-consistent");
        var options = new JsonObject { ["servers"] = string.Join(',', servers.Select(s => $"{s}:{s.Weight}")), ["distribution"] = distribution, ["hash"] = hash };
        var placed = php.Call(new JsonObject { ["op"] = "placement", ["options"] = options, ["keys"] = new JsonArray(keys.Select(k => (JsonNode)k).ToArray()) }).AsArray();
        var locator = Ballast.Distribution.ServerLocatorFactory.Create(
            distribution switch { "pecl-consistent" => KeyDistribution.PeclConsistent, "pecl-standard" => KeyDistribution.PeclStandard, "ketama" => KeyDistribution.Ketama, _ => KeyDistribution.Modula },
            hash == "fnv" ? PeclHashFunction.Fnv : PeclHashFunction.Crc32,
            servers);
        var mismatches = keys.Where((k, i) => locator.Locate(Encoding.UTF8.GetBytes(k)) != placed[i]!.GetValue<int>()).ToArray();
        Assert.True(mismatches.Length == 0, $"{mismatches.Length} of {keys.Length} keys placed elsewhere by the bridge, first: {string.Join(", ", mismatches.Take(5))}");
    }

    [Fact]
    public void Php_seals_and_opens_view_records_byte_for_byte_as_the_library_does()
    {
        using var php = PhpFrontend.Open("memcache", "127.0.0.1:1", "pecl-consistent");
        const string Secret = "a pool secret of some length";
        var seal = new ViewRecordSeal(Encoding.UTF8.GetBytes(Secret), "pool-x");
        JsonNode? Php(string op, string recordKey, byte[] bytes) => php.Call(new JsonObject
        {
            ["op"] = op, ["secret"] = Secret, ["pool"] = "pool-x", ["record_key"] = recordKey,
            [op == "seal" ? "payload" : "value"] = Convert.ToBase64String(bytes),
        });

        foreach (var (recordKey, entry) in new[] { ("ballast:pool-x:view:0", new ViewEntry(1, false, 0, "-")), ("ballast:pool-x:view:11", new ViewEntry(ViewEntry.MaxEpoch, true, long.MaxValue, new string('w', 32))) })
        {
            var sealedByDotNet = seal.Encode(recordKey, entry);
            Assert.Equal(Encoding.ASCII.GetString(sealedByDotNet), Php("seal", recordKey, entry.Encode())!.GetValue<string>());
            Assert.Equal(Encoding.ASCII.GetString(entry.Encode()), Php("unseal", recordKey, sealedByDotNet)!.GetValue<string>());
            Assert.Null(Php("unseal", "ballast:pool-x:view:2", sealedByDotNet));
            Assert.Null(Php("unseal", recordKey, entry.Encode()));
        }
    }

    [Theory]
    [MemberData(nameof(Extensions))]
    public async Task With_the_pools_secret_php_reads_the_sealed_view_and_its_sealed_fence_is_honored_while_a_wrong_secret_reads_nothing(string extension, string distribution)
    {
        const string Secret = "the pool's shared secret";
        await using var scenario = await Scenario.StartAsync(extension, distribution, "sealed", secret: Secret);
        var (servers, dotnet, php, cut, key) = scenario;
        Assert.Equal("old", php.Get(key));
        Assert.Matches(" [0-9a-f]{64}$", await ReadRecordAsync(servers.Servers[servers.Witnesses()[0]], RecordKey(servers, cut)));

        servers.Cut(cut, php: true, dotnet: false);
        try
        {
            Assert.True(php.Delete(key), "the bridge's delete neither confirmed nor fenced");
            var record = await ReadRecordAsync(servers.Servers[servers.Witnesses()[0]], RecordKey(servers, cut));
            Assert.Matches("^[0-9]+ D [0-9]+ [0-9a-f]{8} [0-9a-f]{64}$", record);
            Assert.True(await IntegrityHarness.WaitUntilAsync(() => dotnet.GetServerState(servers.EndPoints[cut]) == ServerState.Down, Bound), "the .NET frontend did not take PHP's sealed fence within the bound");
        }
        finally
        {
            servers.Cut(cut, php: false, dotnet: false);
        }

        // A frontend with another secret (or none) can vouch for no record: every server is lost to it, and it serves nothing.
        foreach (var wrong in new JsonObject?[] { new() { ["secret"] = "some other secret entirely" }, null })
        {
            using var stranger = PhpFrontend.Open(extension, servers.List, distribution, extra: wrong);
            var other = KeyOn(stranger, servers.Witnesses()[0], "stranger");
            Assert.False(stranger.Set(other, "x"));
            Assert.Null(stranger.Get(other));
            var state = stranger.State(servers.Count);
            Assert.All(Enumerable.Range(0, servers.Count), s => Assert.True(state["entries"]![s]!["down"]!.GetValue<bool>(), $"server {s} is readable with the wrong secret: {state.ToJsonString()}"));
            Assert.Equal(0, state["counters"]!["fences_published"]!.GetValue<int>());
        }
    }

    [Fact]
    public void Php_decodes_records_and_chooses_witnesses_as_the_library_does()
    {
        using var php = PhpFrontend.Open("memcache", "127.0.0.1:1", "pecl-consistent");
        string[] records =
        [
            "1 U 0 a", "7 D 1733000000000 0badf00d", "4503599627370496 U 1 lost", "4503599627370497 U 1 x", "0 U 1 x",
            "01 U 1 x", "1 X 1 x", "1 U 1", "1 U 1 x y", "1  U 1 x", "1 U 9223372036854775807 w", "1 U 9223372036854775808 w",
            "1 U 1 " + new string('w', 32), "1 U 1 " + new string('w', 33), "1 U 1 caf\u00e9", "1 U 1 tab\tx", "", "-1 U 1 x",
            "1 u 1 x", "99999999999999999999 U 1 x", "+1 U 1 x", "1 D 1 ~!#",
        ];
        var decoded = php.Call(new JsonObject { ["op"] = "decode", ["records"] = new JsonArray(records.Select(r => (JsonNode)Convert.ToBase64String(Encoding.UTF8.GetBytes(r))).ToArray()) }).AsArray();
        for (var i = 0; i < records.Length; i++)
        {
            var expected = ViewEntry.TryDecode(Encoding.UTF8.GetBytes(records[i]), out var entry) ? Encoding.ASCII.GetString(entry.Encode()) : null;
            Assert.True(expected == decoded[i]?.GetValue<string>(), $"record '{records[i]}': .NET {expected ?? "(none)"}, PHP {decoded[i]?.ToJsonString() ?? "(none)"}");
        }

        var options = new MemcachedClientOptions();
        for (var size = 1; size <= 9; size++)
        {
            var names = Enumerable.Range(0, size).Select(i => new ServerEndPoint(i % 2 == 0 ? "127.0.0.1" : "10.1.2.3", 11211 + (i * 37))).ToArray();
            var nodes = names.Select((n, i) => new ServerNode(i, n, options, TimeProvider.System, (_, _, _) => { })).ToArray();
            var expected = MemcachedViewStore.ChooseWitnesses(nodes).Select(n => n.Index).ToArray();
            var chosen = php.Call(new JsonObject { ["op"] = "witnesses", ["names"] = new JsonArray(names.Select(n => (JsonNode)n.ToString()).ToArray()) }).AsArray().Select(n => n!.GetValue<int>()).ToArray();
            Assert.Equal(expected, chosen);
        }
    }

    /// <summary>
    /// Four servers behind their proxies, a .NET frontend with a fresh view, a PHP frontend through the bridge, and a key
    /// holding "old" on the server that holds no view record (so cutting it leaves every frontend its read quorum).
    /// </summary>
    private sealed record Scenario(ProxiedServers Servers, MemcachedClient DotNet, PhpFrontend Php, int Server, string Key) : IAsyncDisposable
    {
        public static async Task<Scenario> StartAsync(string extension, string distribution, string prefix, TimeSpan? minimumDownTime = null, string? secret = null)
        {
            var servers = await ProxiedServers.StartAsync(4);
            MemcachedClient? dotnet = null;
            PhpFrontend? php = null;
            try
            {
                dotnet = await StartDotNetAsync(servers, distribution, minimumDownTime, secret);
                php = PhpFrontend.Open(extension, servers.List, distribution, extra: secret is null ? null : new JsonObject { ["secret"] = secret });
                var server = servers.NonWitness();
                var key = KeyOn(php, server, prefix);
                Assert.True(php.Set(key, "old"));
                return new Scenario(servers, dotnet, php, server, key);
            }
            catch
            {
                php?.Dispose();
                if (dotnet is not null)
                {
                    await dotnet.DisposeAsync();
                }

                await servers.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            Php.Dispose();
            await DotNet.DisposeAsync();
            await Servers.DisposeAsync();
        }
    }

    internal static async Task AssertReadmittedAndFlushedAsync(MemcachedClient dotnet, PhpFrontend php, ProxiedServers servers, int stalled, string key)
    {
        // The .NET frontend's failback flushes the returned server and publishes it up; PHP then reads it again, empty.
        // Until then, and after, PHP reads no old value.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (dotnet.GetServerState(servers.EndPoints[stalled]) != ServerState.Up || php.State(servers.Count)["entries"]![stalled]!["down"]!.GetValue<bool>())
        {
            Assert.True(DateTime.UtcNow < deadline, "the server was not readmitted by .NET and PHP within 10 s");
            Assert.Null(php.Get(key));
            Thread.Sleep(50);
        }

        Assert.Null(php.Get(key));

        // php-memcache keeps a server it saw fail out for its retry interval (1 s as the bridge adds servers), which can
        // outlast the failback: its stores fail (and the bridge invalidates the key) until then.
        var stored = false;
        for (var attempt = 0; attempt < 30 && !stored; attempt++)
        {
            stored = php.Set(key, "new");
            Thread.Sleep(stored ? 0 : 100);
        }

        Assert.True(stored, "PHP could not store on the readmitted server within 3 s");
        Assert.Equal("new", php.Get(key));
        Assert.Equal("new", (await dotnet.GetAsync(key)).AsString());
    }

    internal static async Task<MemcachedClient> StartDotNetAsync(ProxiedServers servers, string distribution, TimeSpan? minimumDownTime = null, string? secret = null)
    {
        var options = new MemcachedClientOptions { ConnectTimeout = TimeSpan.FromSeconds(3) };
        options.SharedView.Secret = secret;
        foreach (var endPoint in servers.EndPoints)
        {
            options.Servers.Add(endPoint);
        }

        options.Distribution = distribution == "ketama" ? KeyDistribution.Ketama : KeyDistribution.PeclConsistent;
        options.PeclHash = PeclHashFunction.Crc32;
        options.OperationTimeout = TimeSpan.FromMilliseconds(300);
        options.SharedView.Bound = Bound;
        options.FailureDetection.ProbeInterval = TimeSpan.FromMilliseconds(50);
        options.FailureDetection.MaxProbeInterval = TimeSpan.FromMilliseconds(200);
        options.Failback.MinimumDownTime = minimumDownTime ?? TimeSpan.FromMilliseconds(300);
        options.ConnectVia = servers.ConnectVia;
        options.Invalidation.ConfirmTimeout = TimeSpan.FromMilliseconds(200);
        var client = new MemcachedClient(options);
        var up = await IntegrityHarness.WaitUntilAsync(() => client.IsSharedViewFresh && servers.EndPoints.All(e => client.GetServerState(e) == ServerState.Up), TimeSpan.FromSeconds(10));
        Assert.True(up, "the .NET frontend did not start with a fresh view and every server up");
        return client;
    }

    private static string PoolName(ProxiedServers servers)
        => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(servers.List)))[..12].ToLowerInvariant();

    private static string RecordKey(ProxiedServers servers, int index) => $"ballast:{PoolName(servers)}:view:{index}";

    internal static string KeyOn(PhpFrontend php, int server, string prefix)
    {
        for (var i = 0; i < 1000; i++)
        {
            var key = string.Create(CultureInfo.InvariantCulture, $"{prefix}-{i}");
            if (php.ServerOf(key) == server)
            {
                return key;
            }
        }

        throw new InvalidOperationException($"no key of 1000 maps to server {server}");
    }

    /// <summary>A record as one witness holds it, read with the classic protocol (the library refuses reserved keys).</summary>
    private static async Task<string> ReadRecordAsync(MemcachedProcess server, string key)
        => await ReadValueAsync(server, key) ?? throw new Xunit.Sdk.XunitException($"{server} holds no record {key}");

    /// <summary>An operator's <c>flush_all</c> of one server, straight to it.</summary>
    private static async Task FlushAsync(MemcachedProcess server)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync("flush_all\r\n"u8.ToArray());
        Assert.Equal("OK", await new StreamReader(stream, Encoding.ASCII).ReadLineAsync());
    }

    /// <summary>A key's value on one server, straight from it; null when it has none.</summary>
    internal static async Task<string?> ReadValueAsync(MemcachedProcess server, string key)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port);
        var stream = tcp.GetStream();
        stream.ReadTimeout = 3000;
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"get {key}\r\n"));
        var reader = new StreamReader(stream, Encoding.ASCII);
        var header = await reader.ReadLineAsync() ?? "";
        return header.StartsWith("VALUE ", StringComparison.Ordinal) ? await reader.ReadLineAsync() : null;
    }
}
