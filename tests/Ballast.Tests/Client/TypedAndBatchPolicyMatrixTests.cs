using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Ballast.Tests.Diagnostics;
using Ballast.Tests.Integrity;
using Microsoft.Extensions.Logging;

namespace Ballast.Tests.Client;

/// <summary>
/// Typed get and set, the client's key prefix, and the batch calls (SetManyAsync, DeleteManyAsync) under every failover
/// policy, against real memcached, with every server healthy and with one killed: each behaves as its single-key,
/// untyped counterpart does under that policy (the matrix of <see cref="OperationPolicyMatrixTests"/>).
/// </summary>
public sealed partial class TypedAndBatchPolicyMatrixTests
{
    public static TheoryData<FailoverPolicy> Policies => [FailoverPolicy.Offline, FailoverPolicy.Gutter, FailoverPolicy.Replicated, FailoverPolicy.Rehash];

    public sealed record Row(int Id, string Name);

    [JsonSerializable(typeof(Row))]
    internal sealed partial class TypedRowContext : JsonSerializerContext;

    [Theory]
    [MemberData(nameof(Policies))]
    public async Task Typed_values_round_trip_as_json_through_the_serializer_and_a_type_info(FailoverPolicy policy)
    {
        var logs = new CapturingLoggerProvider();
        await using var harness = await IntegrityHarness.StartAsync(policy, frontendCount: 1, configure: o => o.LoggerFactory = LoggerFactory.Create(b => b.AddProvider(logs)));
        var client = harness.Frontends[0];
        var key = harness.KeyOn(0, "typed");
        var row = new Row(7, "seven");

        Assert.True((await client.SetAsync(key, row, TimeSpan.FromMinutes(1))).IsStored);
        var read = await client.GetAsync<Row>(key);
        Assert.True(read.IsHit);
        Assert.Equal(row, read.Value);
        Assert.NotEqual(0UL, read.Cas);

        // The bytes are System.Text.Json's, so other clients (PHP, another .NET frontend) read them as JSON text.
        Assert.Equal("""{"Id":7,"Name":"seven"}""", await client.GetStringAsync(key));

        // The source-generated type info writes and reads the same bytes without reflection.
        Assert.True((await client.SetAsync(key + "-aot", row, TypedRowContext.Default.Row)).IsStored);
        Assert.Equal(row, (await client.GetAsync(key + "-aot", TypedRowContext.Default.Row)).Value);
        Assert.Equal(row, (await client.GetAsync<Row>(key + "-aot")).Value);

        // Strings and bytes are stored as the untyped overloads store them, so every overload reads any other's.
        Assert.True((await client.SetAsync(key + "-text", "plain text")).IsStored);
        Assert.Equal("plain text", (await client.GetAsync<string>(key + "-text")).Value);
        Assert.Equal("plain text", Encoding.UTF8.GetString((await client.GetAsync<byte[]>(key + "-text")).Value!));
        Assert.True((await client.SetAsync<byte[]>(key + "-bytes", [1, 2, 3])).IsStored);
        Assert.Equal([1, 2, 3], (await client.GetAsync(key + "-bytes")).Value);

        // A miss, and a value that is not a Row: both misses, the second one logged with the key and the type.
        Assert.False((await client.GetAsync<Row>(key + "-absent")).IsHit);
        var unreadable = await client.GetAsync<Row>(key + "-text");
        Assert.False(unreadable.IsHit);
        Assert.Null(unreadable.Value);
        Assert.Contains(logs.Events, e => e.Id.Id == 24 && e.Message.Contains(key + "-text", StringComparison.Ordinal) && e.Message.Contains(nameof(Row), StringComparison.Ordinal) && e.Error is JsonException);
    }

    [Fact]
    public async Task A_custom_serializer_writes_and_reads_the_typed_values()
    {
        var serializer = new ReversingSerializer();
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, frontendCount: 1, configure: o => o.Serializer = serializer);
        var client = harness.Frontends[0];

        Assert.True((await client.SetAsync("custom", new Row(1, "abc"))).IsStored);
        Assert.Equal("1|cba", await client.GetStringAsync("custom"));
        Assert.Equal(new Row(1, "abc"), (await client.GetAsync<Row>("custom")).Value);
        Assert.Equal(2, serializer.Calls);

        // Strings never reach it.
        Assert.True((await client.SetAsync<string>("custom-text", "abc")).IsStored);
        Assert.Equal("abc", (await client.GetAsync<string>("custom-text")).Value);
        Assert.Equal(2, serializer.Calls);
    }

    [Theory]
    [MemberData(nameof(Policies))]
    public async Task The_key_prefix_applies_to_every_key_and_results_come_back_under_the_given_keys(FailoverPolicy policy)
    {
        await using var harness = await IntegrityHarness.StartAsync(policy, frontendCount: 1, configure: o => o.KeyPrefix = "app1:");
        var client = harness.Frontends[0];
        var key = harness.KeyOn(0, "prefixed");
        await using var plain = new MemcachedClient(PlainOptions(harness));

        // Placement is the prefixed key's: the same server a client without a prefix picks for "app1:<key>".
        Assert.Equal(plain.Locate("app1:" + key), client.Locate(key));
        Assert.Equal(harness.EndPoint(0), client.Locate(key));

        Assert.True((await client.SetAsync(key, "v1")).IsStored);
        Assert.Equal("v1", await client.GetStringAsync(key));
        Assert.Contains("v1", await plain.GetStringAsync("app1:" + key), StringComparison.Ordinal);
        Assert.Null(await plain.GetStringAsync(key));

        var many = await client.GetManyAsync([key, key + "-absent", key]);
        Assert.Equal(2, many.Count);
        Assert.Equal("v1", many[key].AsString());
        Assert.False(many[key + "-absent"].IsHit);

        var stored = await client.SetManyAsync(new[] { KeyValuePair.Create(key + "-a", (ReadOnlyMemory<byte>)"a"u8.ToArray()) });
        Assert.Equal([key + "-a"], stored.Keys);
        Assert.Contains("a", await plain.GetStringAsync("app1:" + key + "-a"), StringComparison.Ordinal);
        Assert.Null(await plain.GetStringAsync(key + "-a"));

        var deleted = await client.DeleteManyAsync([key, key + "-a"]);
        Assert.Equal([key, key + "-a"], deleted.Keys.Order(StringComparer.Ordinal));
        Assert.All(deleted.Values, d => Assert.Equal(DeleteStatus.Deleted, d.Result));
        Assert.False((await client.GetAsync(key)).IsHit);
        if (policy != FailoverPolicy.Replicated)
        {
            // (A replicated delete leaves a tombstone under the key.)
            Assert.Null(await plain.GetStringAsync("app1:" + key));
        }

        // The lease of GetOrCreate and of a refill is the prefixed key's.
        Assert.Equal(5, await client.GetOrCreateAsync(key + "-created", _ => ValueTask.FromResult(5)));
        Assert.Equal(5, (await client.GetAsync<int>(key + "-created")).Value);
        Assert.NotNull(await plain.GetStringAsync("app1:" + key + "-created"));
        Assert.Null(await plain.GetStringAsync(key + "-created"));
        var leased = await client.GetForRefillAsync(key + "-leased");
        if (leased.Lease is { } lease)
        {
            Assert.Equal("app1:" + key + "-leased", lease.Key);
            Assert.True((await client.RefillAsync(key + "-leased", "r"u8.ToArray(), lease)).IsStored);
            Assert.Equal("r", await client.GetStringAsync(key + "-leased"));
        }
        else
        {
            Assert.Equal(FailoverPolicy.Rehash, policy);
        }
    }

    [Fact]
    public async Task The_reserved_keys_are_refused_with_the_prefix_applied_and_a_bad_prefix_fails_the_client()
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, frontendCount: 1, configure: o => o.KeyPrefix = "ballas");
        var client = harness.Frontends[0];
        var pool = client.PoolName;

        // "ballas" + "t:<pool>:view:0" is the view's record of server 0: refused before anything is sent.
        var error = await Assert.ThrowsAsync<InvalidCacheKeyException>(() => client.SetAsync($"t:{pool}:view:0", "up").AsTask());
        Assert.Contains($"ballast:{pool}:view:0", error.Message, StringComparison.Ordinal);
        Assert.Contains("reserved", error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<InvalidCacheKeyException>(() => client.DeleteManyAsync([$"t:{pool}:view:0"]).AsTask());
        await Assert.ThrowsAsync<InvalidCacheKeyException>(() => client.GetAsync(string.Empty).AsTask());
        Assert.True((await client.SetAsync("ordinary", "fine")).IsStored);

        // A prefix under the reserved one would refuse every key: it fails the client, naming the setting.
        var options = MemcachedClientOptions.ForServers(harness.EndPoint(0).ToString());
        options.KeyPrefix = "ballast:app:";
        var reserved = Assert.Throws<ArgumentException>(() => new MemcachedClient(options));
        Assert.Equal(nameof(MemcachedClientOptions.KeyPrefix), reserved.ParamName);
        Assert.Contains("reserves", reserved.Message, StringComparison.Ordinal);

        options.KeyPrefix = "app 1:";
        var bad = Assert.Throws<ArgumentException>(() => new MemcachedClient(options));
        Assert.Equal(nameof(MemcachedClientOptions.KeyPrefix), bad.ParamName);
        Assert.Contains("app 1:", bad.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Policies))]
    public async Task Batch_calls_on_healthy_servers_report_every_key(FailoverPolicy policy)
    {
        await using var harness = await IntegrityHarness.StartAsync(policy, frontendCount: 1);
        var client = harness.Frontends[0];
        var keys = Enumerable.Range(0, 3).SelectMany(s => new[] { harness.KeyOn(s, "batch-a"), harness.KeyOn(s, "batch-b") }).ToArray();

        var stored = await client.SetManyAsync(keys.Select(k => KeyValuePair.Create(k, (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes("v:" + k))), TimeSpan.FromMinutes(1));
        Assert.Equal(keys.Order(StringComparer.Ordinal), stored.Keys.Order(StringComparer.Ordinal));
        Assert.All(stored.Values, s => Assert.True(s.Result.IsStored, s.ToString()));
        var read = await client.GetManyAsync(keys);
        Assert.All(keys, k => Assert.Equal("v:" + k, read[k].AsString()));

        var rows = await client.SetManyAsync(keys.Select((k, i) => KeyValuePair.Create(k, new Row(i, k))), TypedRowContext.Default.Row);
        Assert.All(rows.Values, s => Assert.True(s.Result.IsStored));
        for (var i = 0; i < keys.Length; i++)
        {
            Assert.Equal(new Row(i, keys[i]), (await client.GetAsync<Row>(keys[i])).Value);
        }

        var deleted = await client.DeleteManyAsync([.. keys, keys[0], keys[0] + "-absent"]);
        Assert.Equal(keys.Length + 1, deleted.Count);
        Assert.All(keys, k => Assert.Equal(DeleteStatus.Deleted, deleted[k].Result));

        // A replicated delete writes tombstones whether or not there was a value.
        Assert.Equal(policy == FailoverPolicy.Replicated ? DeleteStatus.Deleted : DeleteStatus.NotFound, deleted[keys[0] + "-absent"].Result);
        Assert.DoesNotContain((await client.GetManyAsync(keys)).Values, r => r.IsHit);

        // Nothing is sent when one key or value is bad: the other keys stay absent.
        var duplicate = await Assert.ThrowsAsync<ArgumentException>(() => client.SetManyAsync(new[] { KeyValuePair.Create(keys[0], new byte[1]), KeyValuePair.Create(keys[0], new byte[1]) }).AsTask());
        Assert.Contains(keys[0], duplicate.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<InvalidCacheKeyException>(() => client.SetManyAsync(new[] { KeyValuePair.Create(keys[1], new byte[1]), KeyValuePair.Create("has space", new byte[1]) }).AsTask());
        await Assert.ThrowsAsync<CacheValueTooLargeException>(() => client.SetManyAsync(new[] { KeyValuePair.Create(keys[2], new byte[1]), KeyValuePair.Create(keys[3], new byte[2 * 1024 * 1024]) }).AsTask());
        Assert.DoesNotContain((await client.GetManyAsync(keys)).Values, r => r.IsHit);
    }

    [Theory]
    [MemberData(nameof(Policies))]
    public async Task Typed_and_batch_calls_with_a_killed_server_behave_as_the_policy_promises(FailoverPolicy policy)
    {
        await using var harness = await IntegrityHarness.StartAsync(policy, frontendCount: 1);
        var client = harness.Frontends[0];
        var down = new[] { harness.KeyOn(0, "down-a"), harness.KeyOn(0, "down-b") };
        var up = new[] { harness.KeyOn(1, "up-a"), harness.KeyOn(2, "up-b") };
        var all = down.Concat(up).ToArray();
        Assert.All((await client.SetManyAsync(all.Select(k => KeyValuePair.Create(k, new Row(1, "before"))))).Values, s => Assert.True(s.Result.IsStored));

        Assert.True(await harness.KillAndWaitUntilDownAsync(0, down[0]));

        if (policy == FailoverPolicy.Gutter)
        {
            // The gutter takes writes once the outage is fenced in the shared view (see OperationPolicyMatrixTests).
            Assert.True(await IntegrityHarness.WaitUntilAsync(async () => (await client.SetAsync(down[0], new Row(0, "probe"))).IsStored, TimeSpan.FromSeconds(5)));
        }

        var stored = await client.SetManyAsync(all.Select(k => KeyValuePair.Create(k, new Row(2, "during"))));
        Assert.All(up, k => Assert.True(stored[k].Result.IsStored));
        Assert.All(down, k => Assert.Equal(policy == FailoverPolicy.Offline ? StoreStatus.ServerDown : StoreStatus.Stored, stored[k].Result.Status));
        Assert.Equal(policy == FailoverPolicy.Offline ? StoreStatus.ServerDown : StoreStatus.Stored, (await client.SetAsync(down[0], new Row(3, "typed"), TypedRowContext.Default.Row)).Status);

        var typed = await client.GetAsync<Row>(down[1]);
        switch (policy)
        {
            case FailoverPolicy.Offline:
                Assert.False(typed.IsHit);
                break;
            default:
                // The gutter, the other replica or the rehashed server holds what this outage wrote.
                Assert.Equal(new Row(2, "during"), typed.Value);
                break;
        }

        var deleted = await client.DeleteManyAsync(all);
        Assert.All(up, k => Assert.Equal(DeleteStatus.Deleted, deleted[k].Result));
        Assert.All(down, k => Assert.Equal(policy == FailoverPolicy.Offline ? DeleteStatus.ServerFenced : DeleteStatus.Deleted, deleted[k].Result));
        Assert.DoesNotContain((await client.GetManyAsync(all)).Values, r => r.IsHit);
    }

    [Fact]
    public async Task A_batch_delete_reports_the_keys_it_could_neither_confirm_nor_fence_and_still_deletes_the_others()
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, frontendCount: 1);
        var client = harness.Frontends[0];
        var lost = new[] { harness.KeyOn(0, "lost"), harness.KeyOn(1, "lost") };
        var kept = harness.KeyOn(2, "kept");
        Assert.All((await client.SetManyAsync(lost.Append(kept).Select(k => KeyValuePair.Create(k, "v")))).Values, s => Assert.True(s.Result.IsStored));

        // Two of three witnesses gone: no quorum, so a delete on their keys can be neither confirmed nor fenced.
        harness.Server(0).Kill();
        harness.Server(1).Kill();
        var deleted = await client.DeleteManyAsync([.. lost, kept]);

        Assert.Equal(DeleteStatus.Deleted, deleted[kept].Result);
        Assert.Null(await harness.DirectGetAsync(2, kept));
        Assert.All(lost, k =>
        {
            Assert.False(deleted[k].Succeeded);
            var error = Assert.IsType<InvalidationOwedException>(deleted[k].Error);
            Assert.Contains(k, error.Message, StringComparison.Ordinal);
            Assert.Same(error, Assert.Throws<InvalidOperationException>(() => deleted[k].Result).InnerException);
        });
        Assert.True(client.PendingInvalidationCount >= 2);
    }

    private static MemcachedClientOptions PlainOptions(IntegrityHarness harness)
    {
        // The test's own eyes: a client of the same servers and distribution, without a prefix or a shared view, that
        // reads a key from the server it maps to, as stored there.
        var options = new MemcachedClientOptions { FailoverPolicy = FailoverPolicy.Offline };
        for (var s = 0; s < 3; s++)
        {
            options.Servers.Add(harness.EndPoint(s));
        }

        options.SharedView.Enabled = false;
        return options;
    }

    /// <summary>A serializer of <see cref="Row"/> that is plainly not JSON: "id|reversed name".</summary>
    private sealed class ReversingSerializer : IMemcachedSerializer
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public void Serialize<T>(T value, IBufferWriter<byte> destination)
        {
            Interlocked.Increment(ref _calls);
            var row = (Row)(object)value!;
            destination.Write(Encoding.UTF8.GetBytes($"{row.Id}|{new string(row.Name.Reverse().ToArray())}"));
        }

        public T Deserialize<T>(ReadOnlySpan<byte> source)
        {
            Interlocked.Increment(ref _calls);
            var parts = Encoding.UTF8.GetString(source).Split('|');
            return (T)(object)new Row(int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), new string(parts[1].Reverse().ToArray()));
        }
    }
}
