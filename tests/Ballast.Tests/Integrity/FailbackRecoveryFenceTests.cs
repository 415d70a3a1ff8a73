using Ballast.SharedView;
using Ballast.Tests.SharedView;

namespace Ballast.Tests.Integrity;

/// <summary>
/// A failback reads the server's record on every replica last thing before its flush. A copy at the outage's own epoch
/// written by a lost-record recovery (writer "lost") means that recovery touched the record over this frontend's
/// fence and will flush the server itself: the failback must leave it alone, even though this frontend's view still
/// holds its own fence of that epoch, or the server is flushed twice for one outage (simulator seed gutter 12000043).
/// Real memcached and the client's own failback; the only thing made up is what its pre-flush snapshot reads.
/// </summary>
[Collection(WallClockBoundCollection.Name)]
public sealed class FailbackRecoveryFenceTests
{
    [Fact]
    public async Task A_failback_leaves_a_server_whose_record_a_recovery_fenced_at_the_outages_epoch_to_that_recovery()
    {
        DisguisedSnapshots? store = null;

        // The view's replicas are reached straight (not through the frontend's proxies): cutting the frontend's link to
        // server 0 cuts its data path only, and its fence still reaches every replica.
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, frontendCount: 1, configure: options =>
            DirectViewStore.Use(options, parts => store = new DisguisedSnapshots(parts.Store)));
        var client = harness.Frontends[0];
        var key = harness.KeyOn(0, "recovery-fence");

        // Server 0 goes down for the frontend and is fenced; its failback snapshots read the fence as a recovery's.
        store!.Disguising = true;
        harness.Cut(0, 0);
        Assert.True(await IntegrityHarness.WaitUntilAsync(() => { _ = client.GetAsync(key).AsTask(); return client.GetServerState(harness.EndPoint(0)) != ServerState.Up; }, TimeSpan.FromSeconds(5)), "server 0 never went down");
        Assert.True(await IntegrityHarness.WaitUntilAsync(() => client.IsFencedForEveryone(harness.EndPoint(0)), TimeSpan.FromSeconds(5)), "the fence of server 0 was never held by a write quorum");
        var flushesBefore = await harness.FlushCountAsync(0);
        harness.Heal(0, 0);

        // Rounds of the failback reach the snapshot (after its hold, its lock, the fence held for the bound) and stop there.
        await IntegrityHarness.WaitUntilAsync(async () => store.DisguisedReads >= 3 * 3 || await harness.FlushCountAsync(0) != flushesBefore, TimeSpan.FromSeconds(10));
        var flushes = await harness.FlushCountAsync(0);
        Assert.True(flushes == flushesBefore, $"the failback flushed server 0 ({flushes - flushesBefore} times), which a recovery had fenced at its outage's epoch and will flush itself: {string.Join("; ", harness.Flushes.Select(f => $"{f.Args.Server} {f.Args.Reason} at epoch {f.Args.Epoch}"))}; the view has {client.ViewEpochOf(harness.EndPoint(0))}, snapshots disguised {store.DisguisedReads}");
        Assert.True(store.DisguisedReads >= 3 * 3, $"the failback's snapshot was read {store.DisguisedReads} times: it never got that far");
        Assert.NotEqual(ServerState.Up, client.GetServerState(harness.EndPoint(0)));

        // Without the recovery's copy in its way, the failback flushes the server once and readmits it.
        store.Disguising = false;
        Assert.True(await harness.WaitForStateAsync(0, ServerState.Up, TimeSpan.FromSeconds(10)), "server 0 was never readmitted");
        Assert.Equal(flushesBefore + 1, await harness.FlushCountAsync(0));
    }

    /// <summary>
    /// The pool's view on its own memcached servers, except that while <see cref="Disguising"/>, a failback's snapshot
    /// read of server 0's fence returns it as a lost-record recovery's fence of the same
    /// epoch, its version unchanged. The view's reads of every record (<see cref="ReadAllAsync"/>) get the truth, so
    /// the frontend starts no recovery of its own.
    /// </summary>
    private sealed class DisguisedSnapshots(ISharedViewStore inner) : ForwardingViewStore(inner)
    {
        private int _disguised;

        public volatile bool Disguising;

        public int DisguisedReads => Volatile.Read(ref _disguised);

        public override async Task<SharedViewReplicaAnswer> ReadAsync(int replica, int index, CancellationToken cancellationToken)
        {
            var disguise = Disguising && index == 0 && CalledBySnapshot(); // before the await: the caller's stack is gone after it
            var answer = await Inner.ReadAsync(replica, index, cancellationToken);
            if (!disguise || answer.Record is not { } record || !ViewEntry.TryDecode(record.Value.Span, out var entry) || !entry.IsDown || entry.Writer == ViewEntry.LostWriter)
            {
                return answer;
            }

            Interlocked.Increment(ref _disguised);
            return answer with { Record = record with { Value = (entry with { Writer = ViewEntry.LostWriter }).Encode() } };
        }

        /// <summary>
        /// Whether the read is a failback's snapshot (<see cref="ViewProtocol.SnapshotAsync"/> starts its reads on its own
        /// stack). Only those are disguised: a fence's touch reads the record too, and writes back what it read with a new
        /// time; disguised there, it would write a recovery's fence for real, and a recovery would start.
        /// </summary>
        private static bool CalledBySnapshot() => new System.Diagnostics.StackTrace().GetFrames().Any(f => f.GetMethod() is { } m && (m.Name.Contains(nameof(ViewProtocol.SnapshotAsync), StringComparison.Ordinal) || m.DeclaringType?.Name.Contains(nameof(ViewProtocol.SnapshotAsync), StringComparison.Ordinal) == true));
    }
}
