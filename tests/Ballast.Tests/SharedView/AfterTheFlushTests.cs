using System.Globalization;
using Ballast.SharedView;

namespace Ballast.Tests.SharedView;

/// <summary>
/// What a frontend writes after it flushed a server, against real memcached, the view protocol driven directly as the
/// failback drives it: the readmission's compare-and-swap, and the failback locks its flush may have wiped.
/// </summary>
public sealed class AfterTheFlushTests
{
    private static readonly TimeSpan Straggler = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// A readmission swaps "up" over the record it snapshotted before its flush, replica by replica. Another frontend's
    /// read repair, or its putting back of a replica its own flush erased, may rewrite that record exactly as it was:
    /// a new version, no news of an outage. The swap must go through there, or the server stays fenced on that
    /// replica and the next recovery flushes it a second time for one outage (simulator seed offline 2003807). A record
    /// that changed (a fence written after the snapshot) must still stop it. Mutant 55.
    /// </summary>
    [Fact]
    public async Task A_readmission_swaps_over_a_record_rewritten_unchanged_and_not_over_a_newer_fence()
    {
        const string Pool = "swap-repaired";
        await using var harness = await ViewProtocolHarness.StartAsync(3);
        var frontend = harness.Protocol(harness.Store(Pool), "aaaa0001");
        var initialized = await frontend.InitializeAsync(default);
        Assert.True(initialized.Done, initialized.Detail);

        // Server 0 is fenced on every replica, and the failback snapshots its record before the flush.
        var seen = (await frontend.ReadAsync(Straggler, default)).Entries[0];
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var fence = new ViewEntry(Math.Max(seen.Epoch, now) + 1, true, now, "aaaa0001");
        Assert.Equal(3, (await frontend.FenceAsync(0, fence, Straggler, default)).Holding);
        var before = await frontend.SnapshotAsync(0, Straggler, default);
        Assert.Equal(3, before.Length);
        var beforeFlush = await frontend.ReadAsync(Straggler, default);

        // Replica 1: a repair rewrites the record as it was (a new version). Replica 2: another frontend fences it anew.
        var key = $"ballast:{Pool}:view:0";
        var stored = (await harness.RawGetAsync(1, key))!.Value;
        Assert.Equal("STORED", await harness.RawAsync(1, $"set {key} {stored.Flags} 0 {stored.Value.Length}\r\n{stored.Value}\r\n"));
        var newer = System.Text.Encoding.ASCII.GetString((fence with { ChangedAtUnixMs = now + 5, Writer = "bbbb0002" }).Encode());
        Assert.Equal("STORED", await harness.RawAsync(2, $"set {key} 0 0 {newer.Length}\r\n{newer}\r\n"));
        Assert.Equal("OK", await harness.RawAsync(0, "flush_all\r\n"));

        var up = new ViewEntry(fence.Epoch + 1, false, now + 10, "aaaa0001");
        var swapped = await frontend.ReadmitAsync(0, up, before, harness.Nodes[0], beforeFlush, default);

        var story = $"replica 1 holds {await harness.RecordAsync(Pool, 1, 0)}, replica 2 {await harness.RecordAsync(Pool, 2, 0)}";
        Assert.True(await harness.RecordAsync(Pool, 1, 0) == up, $"the readmission failed on the record a repair rewrote unchanged: {story}");
        Assert.True(await harness.RecordAsync(Pool, 2, 0) is { IsDown: true, Writer: "bbbb0002" }, $"the readmission swapped over a fence written after its snapshot: {story}");
        Assert.Equal(2, swapped); // the flushed replica (added) and replica 1
    }

    /// <summary>
    /// A frontend whose readmission of a server failed keeps that outage's failback lock to try again. When it then
    /// flushes witnesses that hold the lock's copies (its own failback of them, a pool flush), it must put those copies
    /// back, however long ago it took the lock within its time to live: otherwise another frontend takes the emptied
    /// copies and flushes the server a second time for one outage (simulator seed replicated 16005553). Mutant 70.
    /// </summary>
    [Fact]
    public async Task A_failback_lock_held_for_a_while_is_put_back_on_the_witnesses_a_flush_wiped()
    {
        const string Pool = "lock-putback";
        await using var harness = await ViewProtocolHarness.StartAsync(3);
        var holder = harness.Protocol(harness.Store(Pool), "aaaa0001");
        var other = harness.Protocol(harness.Store(Pool), "bbbb0002");
        var epoch = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        // Server 0's failback lock lives on the other witnesses, 1 and 2. The holder took it a while ago (its
        // readmission failed), then flushed both of them.
        Assert.True(await holder.TryTakeFailbackLockAsync(0, epoch, default));
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        Assert.Equal("OK", await harness.RawAsync(1, "flush_all\r\n"));
        Assert.Equal("OK", await harness.RawAsync(2, "flush_all\r\n"));

        await holder.RenewFailbackLocksHeldAsync(default);

        var lockKey = string.Create(CultureInfo.InvariantCulture, $"ballast:{Pool}:last_failback:0:{epoch}");
        foreach (var witness in new[] { 1, 2 })
        {
            Assert.True((await harness.RawGetAsync(witness, lockKey))?.Value.Contains("aaaa0001", StringComparison.Ordinal) == true, $"witness {witness} lost the failback lock's copy to the flush and it was not put back");
        }

        Assert.False(await other.TryTakeFailbackLockAsync(0, epoch, default), "another frontend took the failback lock of an outage its holder still works on");
    }
}
