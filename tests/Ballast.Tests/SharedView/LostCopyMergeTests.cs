using Ballast.SharedView;

namespace Ballast.Tests.SharedView;

/// <summary>
/// Copies of one record at the same epoch can differ in their writer: a fence, and the same outage touched by a
/// lost-record recovery (written by "lost"). The failback leaves a server with such a copy at its outage's epoch to
/// the recovery, so a read must show the recovery that copy too, whichever replica answers first: picked by arrival,
/// the recovery saw the other fence, found nothing lost, and nobody ever flushed and readmitted the server (simulator
/// seed replicated 30005059).
/// </summary>
public sealed class LostCopyMergeTests
{
    [Fact]
    public async Task A_copy_written_by_a_lost_record_recovery_wins_over_another_fence_of_its_epoch()
    {
        await using var harness = await ViewProtocolHarness.StartAsync(3);
        var straggler = TimeSpan.FromMilliseconds(200);
        var store = harness.Store("merge");
        var protocol = harness.Protocol(store, "aaaa0001");
        Assert.True((await protocol.InitializeAsync(default)).Done);

        // Server 2 is fenced on every replica by frontend aaaa0001.
        var fence = (await protocol.ReadAsync(straggler, default)).Entries[2].Next(down: true, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), "aaaa0001");
        Assert.Equal(3, (await protocol.FenceAsync(2, fence, straggler, default)).Holding);

        // The last replica's copy becomes the same outage as a lost-record recovery writes it; the first replica,
        // the first in the read's order, keeps the other fence.
        var last = store.ReplicaCount - 1;
        var current = await store.ReadAsync(last, 2, default);
        var lostCopy = fence with { Writer = ViewEntry.LostWriter };
        var encoded = ViewRecordSeal.None.Encode(ViewRecordSeal.None.RecordName(2), lostCopy);
        Assert.True(await store.CompareAndSwapAsync(last, 2, encoded, current.Record!.Value.Version, default));

        var merged = (await protocol.ReadAsync(straggler, default)).Entries[2];
        Assert.Equal(fence.Epoch, merged.Epoch);
        Assert.True(merged.AwaitsRecovery, $"the read gave the fence written by {merged.Writer}, not the lost-record recovery's copy of the same epoch");
    }
}
