using System.Globalization;
using Ballast.SharedView;

namespace Ballast.Tests.SharedView;

/// <summary>
/// A lost-record recovery flushes a server only when a read quorum of replicas answered for its record in the snapshot
/// taken last before the flush: the recovery could not readmit it otherwise (its swap needs what they held), and a
/// readmission it cannot see may be there, so its flush would only be repeated by the recovery that can readmit it, a
/// second flush for one outage (simulator seed offline 2000155: a blip cut the snapshots short, the flush went out
/// after). Real memcached; the replicas that do not answer are a store that drops their single-record reads.
/// </summary>
public sealed class RecoverySnapshotQuorumTests
{
    [Fact]
    public async Task A_recovery_flushes_no_server_whose_record_fewer_than_a_read_quorum_answered_for()
    {
        await using var harness = await ViewProtocolHarness.StartAsync(3);
        var straggler = TimeSpan.FromMilliseconds(200);

        // A new pool (no records anywhere): its recovery fences nothing and waits for nothing, so the snapshot is the
        // only read of a single record before the flush. Two of the three replicas do not answer those reads.
        var store = new SilentSingleReads(harness.Store("snapshot-quorum"), silentReplicas: [0, 1]);
        var protocol = new ViewProtocol(store, harness.Nodes, "aaaa0002", TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), TimeProvider.System);
        var read = await protocol.ReadAsync(straggler, default);
        Assert.True(read.IsQuorum, "the pool's view could not be read");
        Assert.True(read.Entries[2].AwaitsRecovery, "server 2's record was not lost: the test did not reach the case");
        var flushesBefore = await FlushCountAsync(harness, 2);

        var recovery = await protocol.RecoverLostAsync([2], default);

        Assert.True(store.DroppedReads > 0, "no snapshot read was dropped: the test did not reach the case");
        Assert.Empty(recovery.Recovered);
        Assert.Equal(flushesBefore, await FlushCountAsync(harness, 2));
    }

    private static async Task<long> FlushCountAsync(ViewProtocolHarness harness, int server)
    {
        var options = new MemcachedClientOptions { OperationTimeout = TimeSpan.FromSeconds(3), ConnectTimeout = TimeSpan.FromSeconds(3) };
        options.Servers.Add(harness.Nodes[server].EndPoint);
        options.SharedView.Enabled = false;
        await using var direct = new MemcachedClient(options);
        var stats = await direct.StatsAsync();
        return long.Parse(stats[0].Values!["cmd_flush"], CultureInfo.InvariantCulture);
    }

    /// <summary>The pool's store, except that the single-record reads of some replicas get no answer.</summary>
    private sealed class SilentSingleReads(ISharedViewStore inner, int[] silentReplicas) : ForwardingViewStore(inner)
    {
        private int _dropped;

        public int DroppedReads => Volatile.Read(ref _dropped);

        public override Task<SharedViewReplicaAnswer> ReadAsync(int replica, int index, CancellationToken cancellationToken)
        {
            if (silentReplicas.Contains(replica))
            {
                Interlocked.Increment(ref _dropped);
                return Task.FromResult(SharedViewReplicaAnswer.NoAnswer);
            }

            return Inner.ReadAsync(replica, index, cancellationToken);
        }
    }
}
