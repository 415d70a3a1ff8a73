using Ballast.Pool;
using Ballast.SharedView;
using Ballast.Tests.SharedView;

namespace Ballast.Tests.Integrity;

/// <summary>
/// A failback's readmission swaps "up" onto every replica and counts the swaps once all have ended. One can end long
/// after the others landed (a replica behind a blackhole: simulator seed replicated 9015860, 2.2 s). Another frontend
/// may fence the server again meanwhile, over the swaps that landed, and this frontend's view may read that fence
/// before its own swaps end. The readmission still counts a write quorum, but the server must not be readmitted here:
/// the newer fence outranks it, and its own failback flushes the server again. Real memcached and the client's own
/// failback; the store holds one replica's swap until the other frontend's fence is in this frontend's view.
/// </summary>
[Collection(WallClockBoundCollection.Name)]
public sealed class LateReadmissionTests
{
    [Fact]
    public async Task A_readmission_whose_swaps_end_after_a_newer_fence_was_read_does_not_readmit_the_server()
    {
        HeldSwaps? store = null;
        DirectViewStore.Parts? parts = null;
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, frontendCount: 1, configure: options =>
            DirectViewStore.Use(options, made => store = new HeldSwaps((parts = made).Store)));
        var client = harness.Frontends[0];
        var server = harness.EndPoint(0);
        var key = harness.KeyOn(0, "late-readmission");

        // Another frontend of the pool, as the view protocol it runs: its own connections to the same replicas.
        var otherNodes = DirectViewStore.Nodes(parts!.EndPoints, TimeProvider.System);
        try
        {
            var other = new ViewProtocol(new MemcachedViewStore(otherNodes, parts.EndPoints, parts.PoolName, TimeProvider.System), otherNodes, "bbbb0002", TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), TimeProvider.System);

            // Server 0 goes down for the frontend and comes back: its failback flushes it and swaps "up" in; the swap
            // on the replica server 2 hosts is held.
            store!.Armed = true;
            harness.Cut(0, 0);
            Assert.True(await IntegrityHarness.WaitUntilAsync(() => { _ = client.GetAsync(key).AsTask(); return client.GetServerState(server) != ServerState.Up; }, TimeSpan.FromSeconds(5)), "server 0 never went down");
            harness.Heal(0, 0);
            var up = await store.ReadmissionHeld.Task.WaitAsync(TimeSpan.FromSeconds(15));

            // The other frontend fences server 0 again, over the swaps that landed; this frontend's view reads it.
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var fence = new ViewEntry(up.Epoch + 1, true, now, "bbbb0002");
            Assert.True((await other.FenceAsync(0, fence, TimeSpan.FromMilliseconds(200), default)).Holding >= 2, "the other frontend's fence did not reach a write quorum");
            Assert.True(await IntegrityHarness.WaitUntilAsync(() => client.ViewEpochOf(server) >= fence.Epoch, TimeSpan.FromSeconds(5)), "the frontend's view never read the newer fence");

            // The held swap ends (it fails: the record changed); the readmission has its write quorum all the same.
            store.Release();
            var readmittedAt = DateTime.UtcNow + TimeSpan.FromMilliseconds(600);
            while (DateTime.UtcNow < readmittedAt)
            {
                Assert.True(client.GetServerState(server) != ServerState.Up, $"server 0 was readmitted at {up.Epoch} though the view holds a newer fence at {client.ViewEpochOf(server)}");
                await Task.Delay(10);
            }

            Assert.DoesNotContain(harness.Recoveries, r => r.Args.Server == server && r.Args.Epoch == up.Epoch);
        }
        finally
        {
            foreach (var node in otherNodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// The pool's view on its own memcached servers, except that once <see cref="Armed"/> (after the new pool's own
    /// start-up readmissions), the first readmission swap of server 0 on the replica server 2 hosts waits for
    /// <see cref="Release"/>; <see cref="ReadmissionHeld"/> gives the "up" record it carries.
    /// </summary>
    private sealed class HeldSwaps(ISharedViewStore inner) : ForwardingViewStore(inner)
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _held;

        public volatile bool Armed;

        public TaskCompletionSource<ViewEntry> ReadmissionHeld { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _release.TrySetResult();

        public override async Task<bool?> CompareAndSwapAsync(int replica, int index, ReadOnlyMemory<byte> value, long expectedVersion, CancellationToken cancellationToken)
        {
            if (Armed && index == 0 && ServerHostingReplica(replica) == 2 && ViewEntry.TryDecode(value.Span, out var entry) && !entry.IsDown
                && Interlocked.CompareExchange(ref _held, 1, 0) == 0)
            {
                ReadmissionHeld.TrySetResult(entry);
                await _release.Task.WaitAsync(TimeSpan.FromSeconds(20), cancellationToken);
            }

            return await Inner.CompareAndSwapAsync(replica, index, value, expectedVersion, cancellationToken);
        }

        public override ValueTask DisposeAsync()
        {
            _release.TrySetResult();
            return base.DisposeAsync();
        }
    }
}
