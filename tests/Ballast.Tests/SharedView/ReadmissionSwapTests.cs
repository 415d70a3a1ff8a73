namespace Ballast.Tests.SharedView;

/// <summary>
/// A readmission writes "up" only where the record is still the one the failback read before its flush (compare and
/// swap against that snapshot): a fence published in between, by a frontend whose delete failed after the flush began,
/// must keep the server fenced, so that the next round flushes it again. A plain write would readmit it over the fence.
/// </summary>
public sealed class ReadmissionSwapTests
{
    [Fact]
    public async Task A_fence_published_after_the_snapshot_keeps_the_server_fenced()
    {
        await using var harness = await ViewProtocolHarness.StartAsync(3);
        var straggler = TimeSpan.FromMilliseconds(200);
        var failback = harness.Protocol(harness.Store("swap"), "aaaa0001");
        var fencer = harness.Protocol(harness.Store("swap"), "bbbb0002");
        Assert.True((await failback.InitializeAsync(default)).Done);
        var first = (await failback.ReadAsync(straggler, default)).Entries[2];

        // Server 2 is fenced, and the failback snapshots its record before flushing it.
        var fence = first.Next(down: true, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), "bbbb0002");
        Assert.Equal(3, (await fencer.FenceAsync(2, fence, straggler, default)).Holding);
        var before = await failback.SnapshotAsync(2, straggler, default);

        // Another delete fails meanwhile, and its frontend touches the fence.
        Assert.Equal(3, (await fencer.FenceAsync(2, fence, straggler, default)).Holding);

        var up = fence.Next(down: false, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), "aaaa0001");
        var swapped = await failback.ReadmitAsync(2, up, before, harness.Nodes[2], beforeFlush: null, default);

        Assert.Equal(0, swapped);
        Assert.True((await fencer.ReadAsync(straggler, default)).Entries[2].IsDown);
    }
}
