using Ballast.Diagnostics;
using Ballast.Protocol.Commands;
using Ballast.SharedView;

namespace Ballast;

/// <summary>
/// What <c>ballast monitor</c> shows beyond the public surface: the shared view's record and freshness, and one
/// server's <c>stats</c> at a time. Internal (the CLI sees internals): no application needs them.
/// </summary>
public sealed partial class MemcachedClient
{
    /// <summary>Writes a new pool's first shared-view records without flushing (<c>ballast view init</c>; see <see cref="ViewProtocol.InitializeAsync"/>).</summary>
    internal Task<(bool Done, string Detail)> InitializeSharedViewAsync(CancellationToken cancellationToken)
        => _pool.Protocol?.InitializeAsync(cancellationToken) ?? Task.FromResult((false, "the pool keeps no shared view (Rehash, or the view switched off)."));

    /// <summary>Every replica's copy of every record (<c>ballast view show</c>).</summary>
    internal Task<IReadOnlyList<(string Server, string Replica, string? Record)>> DescribeSharedViewAsync(CancellationToken cancellationToken)
        => _pool.Protocol?.DescribeAsync(cancellationToken) ?? Task.FromResult<IReadOnlyList<(string, string, string?)>>([]);

    /// <summary>This frontend's id, as it signs the shared view's records and locks.</summary>
    internal string FrontendId => _pool.Identity.FrontendId;

    /// <summary>False when the pool keeps no shared view (Rehash, or switched off).</summary>
    internal bool SharedViewEnabled => _pool.View.Enabled;

    /// <summary>The bound B: the view counts as fresh while its last quorum read started less than this ago.</summary>
    internal TimeSpan SharedViewBound => _options.SharedView.Bound;

    /// <summary>A server's record in this frontend's copy of the view: epoch, fenced or not, and who wrote it when.</summary>
    internal (long Epoch, bool IsDown, long ChangedAtUnixMs, string Writer) ViewRecordOf(ServerEndPoint server)
    {
        var entry = _pool.View[Node(server).Index];
        return (entry.Epoch, entry.IsDown, entry.ChangedAtUnixMs, entry.ShownWriter);
    }

    /// <summary>
    /// Whether the background loop reads the shared view from this server four times per bound (a witness of the
    /// memcached store): those reads time out when it stalls, and mark it down. Other servers (in pools of 4 or more,
    /// or every server with the etcd store) hear from a frontend only when it has traffic for them.
    /// </summary>
    internal bool ReceivesViewReads(ServerEndPoint server)
        => _pool.Protocol?.HostsReplica(Node(server)) == true;

    /// <summary>
    /// Sends <c>version</c> to a server this frontend holds up, as a heartbeat: a timeout counts towards its failure
    /// detection like any request's. Not sent while it is held down (the background loop probes it then). True when
    /// it answered.
    /// </summary>
    internal async Task<bool> HeartbeatAsync(ServerEndPoint server, CancellationToken cancellationToken)
    {
        var node = Node(server);
        try
        {
            await node.ExecuteAsync(TextCommand.Version(), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (MemcachedException error)
        {
            node.Errors.Absorbed(AbsorbedError.MonitorRequestFailed, null, error);
            return false;
        }
    }

    /// <summary>
    /// One server's <c>stats</c>, sent even while this frontend holds it down (a reachable, recovering server still
    /// answers). A request that times out counts towards the server's failure detection like any other: this is the
    /// monitor's heartbeat for servers that hold no view records.
    /// </summary>
    internal async Task<ServerStatistics> StatsOfAsync(ServerEndPoint server, CancellationToken cancellationToken)
    {
        var node = Node(server);
        try
        {
            var values = await node.ExecuteAsync(TextCommand.Stats(), cancellationToken, evenIfDown: true).ConfigureAwait(false);
            return new ServerStatistics(node.EndPoint, values, null);
        }
        catch (MemcachedException error)
        {
            node.Errors.Absorbed(AbsorbedError.MonitorRequestFailed, null, error);
            return new ServerStatistics(node.EndPoint, null, error.Message);
        }
    }
}
