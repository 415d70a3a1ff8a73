using System.Text;
using Ballast.Tests.Integrity;

namespace Ballast.Tests.Client;

/// <summary>
/// S10: every public keyed operation under every failover policy, against real memcached, with the key's server
/// healthy and with it down (killed). Each operation either has a meaning that keeps the promise (a replicated value
/// comes back without its version envelope, a tombstone is a miss, replicas are touched together) or is refused
/// with a <see cref="NotSupportedException"/> that names the policy. Never a silent bypass of the policy.
/// </summary>
public sealed class OperationPolicyMatrixTests
{
    public static TheoryData<FailoverPolicy> Policies => [FailoverPolicy.Offline, FailoverPolicy.Gutter, FailoverPolicy.Replicated, FailoverPolicy.Rehash];

    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    [Theory]
    [MemberData(nameof(Policies))]
    public async Task Every_keyed_operation_on_a_healthy_server(FailoverPolicy policy)
    {
        await using var harness = await IntegrityHarness.StartAsync(policy, frontendCount: 1);
        var client = harness.Frontends[0];
        var key = harness.KeyOn(0, "matrix");
        var counter = harness.KeyOn(0, "matrix-counter");
        var replicated = policy == FailoverPolicy.Replicated;

        Assert.True((await client.SetAsync(key, "value")).IsStored);
        Assert.Equal("value", (await client.GetAsync(key)).AsString());
        Assert.Equal("value", (await client.GetAndTouchAsync(key, Minute)).AsString());
        Assert.True(await client.TouchAsync(key, Minute));
        Assert.Equal(StoreStatus.NotStored, (await client.AddAsync(key, Bytes("other"))).Status);
        Assert.True((await client.AddAsync(key + "-new", Bytes("added"))).IsStored);
        Assert.Equal("added", (await client.GetAsync(key + "-new")).AsString());
        Assert.False(await client.TouchAsync(key + "-absent", Minute));
        Assert.False((await client.GetAndTouchAsync(key + "-absent", Minute)).IsHit);
        await AssertBufferedTouchesAsync(client, key + "-flagged");

        if (replicated)
        {
            await AssertRefusedAsync(() => client.ReplaceAsync(key, Bytes("x")).AsTask());
            await AssertRefusedAsync(() => client.AppendAsync(key, Bytes("x")).AsTask());
            await AssertRefusedAsync(() => client.PrependAsync(key, Bytes("x")).AsTask());
            await AssertRefusedAsync(() => client.CompareAndSwapAsync(key, Bytes("x"), 42).AsTask());
            await AssertRefusedAsync(() => client.IncrementAsync(counter, 1, initial: 10).AsTask());
            await AssertRefusedAsync(() => client.DecrementAsync(counter, 1, initial: 10).AsTask());
        }
        else
        {
            Assert.True((await client.ReplaceAsync(key, Bytes("b"))).IsStored);
            Assert.True((await client.AppendAsync(key, Bytes("c"))).IsStored);
            Assert.True((await client.PrependAsync(key, Bytes("a"))).IsStored);
            var read = await client.GetAsync(key);
            Assert.Equal("abc", read.AsString());
            Assert.True((await client.CompareAndSwapAsync(key, Bytes("cas"), read.Cas)).IsStored);
            Assert.Equal(StoreStatus.Exists, (await client.CompareAndSwapAsync(key, Bytes("late"), read.Cas)).Status);
            Assert.Equal(10UL, (await client.IncrementAsync(counter, 5, initial: 10)).Value);
            Assert.Equal(15UL, (await client.IncrementAsync(counter, 5, initial: 10)).Value);
            Assert.Equal(12UL, (await client.DecrementAsync(counter, 3)).Value);
        }

        // Mark-stale: the first read after it wins the refill (memcached gives the win to the first read of any
        // kind), and every read is a miss.
        Assert.True(await client.MarkStaleAsync(key, Minute));
        var stale = await client.GetForRefillAsync(key);
        Assert.False(stale.IsHit);
        Assert.NotNull(stale.Lease);
        Assert.False(stale.RefillPending);

        // Another caller gets no lease and no value, and is told the key is being refilled (not a plain miss).
        var second = await client.GetForRefillAsync(key);
        Assert.False(second.IsHit);
        Assert.Null(second.Lease);
        Assert.True(second.RefillPending);
        Assert.False((await client.GetAsync(key)).IsHit);
        Assert.False((await client.GetAndTouchAsync(key, Minute)).IsHit);

        // Delete: a miss everywhere after it, the replicated tombstone included.
        Assert.True((await client.SetAsync(key, "again")).IsStored);
        Assert.Equal(DeleteStatus.Deleted, await client.DeleteAsync(key));
        Assert.False((await client.GetAsync(key)).IsHit);
        Assert.False((await client.GetAndTouchAsync(key, Minute)).IsHit);
        Assert.False(await client.TouchAsync(key, Minute));
        Assert.DoesNotContain((await client.GetManyAsync([key])).Values, r => r.IsHit);
    }

    [Theory]
    [MemberData(nameof(Policies))]
    public async Task Every_keyed_operation_with_the_keys_server_down(FailoverPolicy policy)
    {
        await using var harness = await IntegrityHarness.StartAsync(policy, frontendCount: 1);
        var client = harness.Frontends[0];
        var key = harness.KeyOn(0, "matrix-down");
        var counter = harness.KeyOn(0, "matrix-down-counter");
        Assert.True((await client.SetAsync(key, "before")).IsStored);
        if (policy != FailoverPolicy.Replicated)
        {
            Assert.Equal(1UL, (await client.IncrementAsync(counter, 1, initial: 1)).Value);
        }

        harness.Server(0).Kill();
        Assert.True(await IntegrityHarness.WaitUntilAsync(
            () =>
            {
                _ = client.GetAsync(key).AsTask();
                return client.GetServerState(harness.EndPoint(0)) is ServerState.Down or ServerState.Probing;
            },
            TimeSpan.FromSeconds(5)));

        switch (policy)
        {
            case FailoverPolicy.Offline:
                Assert.False((await client.GetAsync(key)).IsHit);
                Assert.False((await client.GetAndTouchAsync(key, Minute)).IsHit);
                Assert.False(await client.TouchAsync(key, Minute));
                Assert.Equal(StoreStatus.ServerDown, (await client.SetAsync(key, "during")).Status);
                Assert.Equal(StoreStatus.ServerDown, (await client.AppendAsync(key, Bytes("x"))).Status);
                await Assert.ThrowsAsync<ServerUnavailableException>(() => client.IncrementAsync(counter).AsTask());
                Assert.True(await client.MarkStaleAsync(key, Minute));
                Assert.Equal(DeleteStatus.ServerFenced, await client.DeleteAsync(key));
                break;

            case FailoverPolicy.Gutter:
                Assert.False((await client.GetAsync(key)).IsHit);

                // The gutter takes writes once the outage is fenced in the shared view (its epoch tags the entry);
                // this frontend marks the server down first and publishes the fence just after, so a set in between
                // is refused (ServerDown, which is safe). A loaded CI machine once showed that moment.
                Assert.True(await IntegrityHarness.WaitUntilAsync(async () => (await client.SetAsync(key, "during")).IsStored, TimeSpan.FromSeconds(5)));
                Assert.Equal("during", (await client.GetAsync(key)).AsString());
                Assert.Equal("during", (await client.GetAndTouchAsync(key, Minute)).AsString());
                Assert.True(await client.TouchAsync(key, Minute));
                Assert.True(await client.MarkStaleAsync(key, Minute));
                Assert.False((await client.GetAsync(key)).IsHit);
                Assert.Equal(DeleteStatus.Deleted, await client.DeleteAsync(key));

                // An append cannot land in the gutter; it did not land, so it invalidates the entry it would change.
                Assert.True(await IntegrityHarness.WaitUntilAsync(async () => (await client.SetAsync(key, "again")).IsStored, TimeSpan.FromSeconds(5)));
                Assert.Equal(StoreStatus.ServerDown, (await client.AppendAsync(key, Bytes("x"))).Status);
                Assert.False((await client.GetAsync(key)).IsHit);
                Assert.False((await client.GetAndTouchAsync(key, Minute)).IsHit);
                break;

            case FailoverPolicy.Replicated:
                // The other replica serves, without the envelope; a delete's tombstone makes it a miss.
                Assert.Equal("before", (await client.GetAsync(key)).AsString());
                Assert.Equal("before", (await client.GetAndTouchAsync(key, Minute)).AsString());
                Assert.True(await client.TouchAsync(key, Minute));
                Assert.True((await client.SetAsync(key, "during")).IsStored);
                Assert.Equal("during", (await client.GetAndTouchAsync(key, Minute)).AsString());
                await AssertRefusedAsync(() => client.IncrementAsync(counter).AsTask());
                Assert.Equal(DeleteStatus.Deleted, await client.DeleteAsync(key));
                Assert.False((await client.GetAsync(key)).IsHit);
                Assert.False((await client.GetAndTouchAsync(key, Minute)).IsHit);
                break;

            case FailoverPolicy.Rehash:
                // PECL's behaviour, kept to compare against: the key moves to another server.
                Assert.False((await client.GetAsync(key)).IsHit);
                Assert.True((await client.SetAsync(key, "during")).IsStored);
                Assert.Equal("during", (await client.GetAndTouchAsync(key, Minute)).AsString());
                Assert.True(await client.TouchAsync(key, Minute));
                Assert.Equal(5UL, (await client.IncrementAsync(counter, 1, initial: 5)).Value);
                Assert.True(await client.MarkStaleAsync(key, Minute));
                Assert.False((await client.GetAsync(key)).IsHit);
                break;
        }
    }

    private static async Task AssertRefusedAsync(Func<Task> operation)
    {
        var error = await Assert.ThrowsAsync<NotSupportedException>(operation);
        Assert.Contains("Replicated", error.Message, StringComparison.Ordinal);
    }

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>A get-and-touch into a buffer and a metadata read (flags, no value), as the distributed cache uses them.</summary>
    private static async Task AssertBufferedTouchesAsync(MemcachedClient client, string key)
    {
        Assert.True((await client.SetAsync(key, Bytes("flagged"), Minute, flags: 42)).IsStored);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        var read = await client.GetAndTouchAsync(key, Minute, buffer);
        Assert.Equal(("flagged", 7, 42u), (Encoding.UTF8.GetString(buffer.WrittenSpan), read.Length, read.Flags));
        var metadata = await client.GetMetadataAsync(key, Minute);
        Assert.Equal((true, 0, 42u), (metadata.IsHit, metadata.Length, metadata.Flags));
        Assert.Equal(42u, (await client.GetMetadataAsync(key)).Flags);
        Assert.False((await client.GetMetadataAsync(key + "-absent", Minute)).IsHit);
        Assert.False((await client.GetAndTouchAsync(key + "-absent", Minute, buffer)).IsHit);
        Assert.Equal(7, buffer.WrittenCount);
    }
}
