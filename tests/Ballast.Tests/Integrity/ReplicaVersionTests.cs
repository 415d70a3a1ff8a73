using System.Text;
using Ballast.Failover;
using Ballast.FaultInjection;

namespace Ballast.Tests.Integrity;

/// <summary>
/// Replicated pools order copies by two clocks that must never be compared with each other: a caller's version (a
/// row version) orders the caller's versioned values, the hybrid logical clock orders everything else in time. Comparing
/// a row version of 5 with a stamp of <c>ms &lt;&lt; 16</c> let a tombstone hide every later versioned set, and a
/// refill beat a newer versioned value.
/// </summary>
public sealed class ReplicaVersionTests
{
    [Fact]
    public async Task An_older_tombstone_on_one_replica_does_not_hide_a_later_versioned_set_against_real_memcached()
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Replicated, frontendCount: 1);
        var client = harness.Frontends[0];
        var key = harness.KeyOn(0, "row");
        Assert.True((await client.SetVersionedAsync(key, Bytes("v6"), 6)).IsStored);
        Assert.Equal("v6", (await client.GetAsync(key)).AsString());

        // A delete from a second ago lands late on the other replicas (its tombstone's clock stamp is older than the
        // set's). Compared with the row version 6 as a number, the stamp (ms << 16) would win and hide the set.
        var secondAgo = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 1000) << 16;
        foreach (var other in new[] { 1, 2 })
        {
            var options = new MemcachedClientOptions { SharedView = { Enabled = false } };
            options.Servers.Add(harness.EndPoint(other));
            await using var direct = new MemcachedClient(options);
            Assert.True((await direct.SetAsync(key, Tombstone(secondAgo))).IsStored);
        }

        Assert.Equal("v6", (await client.GetAsync(key)).AsString());
        Assert.Equal("v6", (await client.GetAndTouchAsync(key, TimeSpan.FromMinutes(1))).AsString());
    }

    /// <summary>
    /// Two requests race: the one that read row version 7 stores first, the one that read version 5 arrives after.
    /// An unconditional set let 5 overwrite 7 on every replica, so every frontend read the older row until the next
    /// write. The set now compares versions against each replica's copy (compare-and-swap), and 5 gives way.
    /// </summary>
    [Fact]
    public async Task A_versioned_set_that_arrives_after_a_newer_one_does_not_replace_it_on_any_replica()
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Replicated, frontendCount: 2);
        var key = harness.KeyOn(0, "row-race");
        Assert.True((await harness.Frontends[0].SetVersionedAsync(key, Bytes("v7"), 7)).IsStored);
        Assert.Equal(StoreStatus.NotStored, (await harness.Frontends[1].SetVersionedAsync(key, Bytes("v5"), 5)).Status);
        Assert.Equal("v7", (await harness.Frontends[1].GetAsync(key)).AsString());

        // Every replica kept 7: read each one alone.
        foreach (var server in new[] { 0, 1, 2 })
        {
            var options = new MemcachedClientOptions { SharedView = { Enabled = false } };
            options.Servers.Add(harness.EndPoint(server));
            await using var direct = new MemcachedClient(options);
            var raw = await direct.GetAsync(key);
            Assert.True(!raw.IsHit || ReplicaCopy.TryRead(raw, out var copy) && copy.CallerVersion == 7, $"server {server} holds another version");
        }

        // A newer version, and the same version again, still go through.
        Assert.True((await harness.Frontends[1].SetVersionedAsync(key, Bytes("v9"), 9)).IsStored);
        Assert.True((await harness.Frontends[0].SetVersionedAsync(key, Bytes("v9 again"), 9)).IsStored);
        Assert.Equal("v9 again", (await harness.Frontends[0].GetAsync(key)).AsString());
    }

    /// <summary>
    /// A versioned set whose read of one replica's copy fails (its request lost on the link, the read timed out) falls
    /// back to an <c>add</c>, which the copy already there refuses. That refusal says nothing of the copy's version:
    /// here it is the older row 6, and without more the set of 7 returned while 6 stayed on that replica, served to
    /// any frontend that reads it (simulator seed replicated 2000418, on the code of 2026-12-07). The copy is read again
    /// now that the server answers, and 7 replaces it. The writer has no shared view, so that nothing but the set's own
    /// requests crosses its link to server 0: the link drops the read's request and heals as soon as it has, and the add
    /// that follows the read's timeout goes through on a clean connection. Mutant 60.
    /// </summary>
    [Fact]
    public async Task A_versioned_set_whose_read_of_a_copy_timed_out_does_not_leave_an_older_copy_there()
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Replicated, frontendCount: 1);
        var (client, links) = harness.StartLateFrontend(configure: options =>
        {
            options.SharedView.Enabled = false;
            options.OperationTimeout = TimeSpan.FromSeconds(1);
            options.FailureDetection.ConsecutiveTimeouts = 10; // the server stays up: only the one read is lost
        });
        var key = harness.KeyOn(0, "row-lost-read");
        Assert.True((await client.SetVersionedAsync(key, Bytes("v6"), 6)).IsStored);

        links[0].SetMode(ProxyFaultMode.Blackhole);
        var set = client.SetVersionedAsync(key, Bytes("v7"), 7).AsTask();
        Assert.True(await IntegrityHarness.WaitUntilAsync(() => links[0].BytesDropped > 0, TimeSpan.FromSeconds(5)), "the set sent nothing to server 0");
        links[0].SetMode(ProxyFaultMode.Pass);
        var result = await set;

        foreach (var server in new[] { 0, 1, 2 })
        {
            var options = new MemcachedClientOptions { SharedView = { Enabled = false } };
            options.Servers.Add(harness.EndPoint(server));
            await using var direct = new MemcachedClient(options);
            var raw = await direct.GetAsync(key);
            var version = raw.IsHit && ReplicaCopy.TryRead(raw, out var copy) ? copy.CallerVersion : null;
            Assert.True(!raw.IsHit || version == 7, $"after the set of 7 returned {result.Status}, server {server} still holds version {version?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(unreadable)"}");
        }

        Assert.Equal("v7", (await client.GetAsync(key)).AsString());
    }

    /// <summary>A replicated tombstone as stored: magic 0xBA, 'T', the clock stamp big-endian.</summary>
    private static byte[] Tombstone(long stamp)
    {
        var bytes = new byte[10];
        bytes[0] = 0xBA;
        bytes[1] = (byte)'T';
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(2), stamp);
        return bytes;
    }

    [Fact]
    public void Between_a_caller_versioned_value_and_a_tombstone_or_refill_the_later_write_wins()
    {
        var value = Copy(ReplicaCopy.WrapValue(clock: 30, callerVersion: 6, Bytes("v6")));
        var olderTombstone = Copy(ReplicaCopy.WrapTombstone(clock: 20));
        var newerTombstone = Copy(ReplicaCopy.WrapTombstone(clock: 40));
        var newerRefill = Copy(ReplicaCopy.WrapValue(clock: 50, callerVersion: null, Bytes("refill")));

        Assert.Equal("v6", Value(ReplicaCopy.Newest([olderTombstone, value])));
        Assert.Equal("v6", Value(ReplicaCopy.Newest([value, olderTombstone])));
        Assert.True(ReplicaCopy.Newest([value, newerTombstone])!.Value.IsTombstone);
        Assert.Equal("refill", Value(ReplicaCopy.Newest([value, newerRefill])));
    }

    [Fact]
    public void Caller_versions_order_caller_versioned_values_whatever_their_clocks()
    {
        var newerRow = Copy(ReplicaCopy.WrapValue(clock: 10, callerVersion: 7, Bytes("v7")));
        var olderRowWrittenLater = Copy(ReplicaCopy.WrapValue(clock: 90, callerVersion: 5, Bytes("v5")));
        Assert.Equal("v7", Value(ReplicaCopy.Newest([olderRowWrittenLater, newerRow])));
        Assert.Equal("v7", Value(ReplicaCopy.Newest([newerRow, olderRowWrittenLater])));
    }

    [Fact]
    public void Stale_marked_copies_and_foreign_bytes_are_not_copies()
    {
        var stale = new GetResult(ReplicaCopy.WrapValue(5, null, Bytes("x")), 0, 1) { IsStale = true };
        var foreign = new GetResult(Bytes("plain"), 0, 1);
        Assert.Null(ReplicaCopy.Newest([stale, foreign]));
    }

    private static GetResult Copy(byte[] stored) => new(stored, 0, 1);

    private static string? Value(ReplicaCopy? copy) => copy is { IsTombstone: false } c ? Encoding.UTF8.GetString(c.Value) : null;

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);
}
