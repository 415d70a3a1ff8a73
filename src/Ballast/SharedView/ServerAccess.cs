using Ballast.Health;
using Ballast.Pool;

namespace Ballast.SharedView;

/// <summary>
/// Whether a server may be read, written or reached from this frontend now: the one place where its own health and
/// the shared view (with its lease) are combined. The hot path of every keyed operation.
/// </summary>
internal sealed class ServerAccess
{
    private readonly FenceEvidence? _evidence;

    /// <param name="view">This frontend's copy of the view.</param>
    /// <param name="evidence">What this frontend knows of fences held by a write quorum (null without a view).</param>
    public ServerAccess(ClusterView view, FenceEvidence? evidence = null)
    {
        View = view;
        _evidence = evidence;
    }

    /// <summary>This frontend's copy of the shared view.</summary>
    public ClusterView View { get; }

    /// <summary>True while this frontend's copy of the view is fresh (read from a quorum within the bound).</summary>
    public bool IsLeaseFresh => View.IsLeaseFresh;

    /// <summary>
    /// Whether reads may be served from <paramref name="node"/>: this frontend has it up, the shared view has it up,
    /// and the view is fresh for reads (read from a quorum within three quarters of the bound, see
    /// <see cref="ClusterView.IsLeaseFreshForReads"/>).
    /// </summary>
    public bool IsReadable(ServerNode node) => !node.Health.IsDown && View.IsUp(node.Index) && View.IsLeaseFreshForReads;

    /// <summary>
    /// Whether stores may be sent to <paramref name="node"/>: as <see cref="IsReadable"/>, but on the lease of the whole
    /// bound. The shorter read lease is for what reads hand out (a departed caller's fence may come a quarter of the
    /// bound late); a store refused sooner would only be turned into an invalidation, and a one-shot tool whose first
    /// view read took most of three quarters of the bound on a loaded machine had its set refused.
    /// </summary>
    public bool IsWritable(ServerNode node) => !node.Health.IsDown && View.IsUp(node.Index) && View.IsLeaseFresh;

    /// <summary>
    /// Whether no frontend can read <paramref name="node"/> any more: this frontend's fresh view has it fenced, by a
    /// fence it knows a write quorum holds (a "down" record seen on one copy, or a fence this frontend still owes, may
    /// not have reached the others). Its values are gone for everyone: it is flushed before anyone reads it again.
    /// </summary>
    public bool IsFencedForEveryone(ServerNode node)
        => View.Enabled && View.IsLeaseFresh && View[node.Index] is { IsDown: true } fence && !node.Health.FenceOwed
            && _evidence?.HeldFor(node.Index, fence.Epoch) is not null;

    /// <summary>
    /// Whether every frontend has stopped writing <paramref name="node"/> for the outage at <paramref name="epoch"/>:
    /// this frontend knows its fence held by a write quorum for at least <paramref name="bound"/> (a frontend still
    /// on an older view reads the fence within the bound), and owes no fence of its own there.
    /// </summary>
    public bool IsFenceSettled(ServerNode node, long epoch, TimeSpan bound)
        => !node.Health.FenceOwed && _evidence?.HeldFor(node.Index, epoch) is { } held && held >= bound;

    /// <summary>
    /// Whether an invalidation should be sent to <paramref name="node"/> though this frontend holds it down: the shared
    /// view has it up (others read it), so the delete must be tried there before a fence is published; a frontend whose
    /// own state only lags behind a readmission would otherwise fence, and get flushed, a server that is fine.
    /// </summary>
    public bool OthersMayRead(ServerNode node) => View.Enabled && View.IsLeaseFresh && View.IsUp(node.Index);

    /// <summary>
    /// Whether this frontend can send to <paramref name="node"/>: it holds it up, or holds it down only because the
    /// shared view fences it while its own probes get through. Invalidations go wherever they can land.
    /// </summary>
    public bool CanReach(ServerNode node) => node.Health.CanSend;

    /// <summary>
    /// The epoch of the outage a server is in, as gutter entries are tagged: the shared view's epoch while the view
    /// fences it, or (without a view) when this frontend marked it down; 0 when it is in no known outage.
    /// </summary>
    public long OutageEpoch(ServerNode node)
    {
        if (!View.Enabled)
        {
            return node.Health.DownSince;
        }

        var entry = View[node.Index];
        return entry.IsDown ? entry.Epoch : 0;
    }

    /// <summary>This frontend's view of a server's state: its health, or Down while the shared view fences it.</summary>
    public ServerState StateOf(ServerNode node)
    {
        return node.Health.State switch
        {
            HealthState.Up or HealthState.Suspect => View.IsUp(node.Index) ? ServerState.Up : ServerState.Down,
            HealthState.Probing => ServerState.Probing,
            HealthState.Recovering => ServerState.Recovering,
            _ => ServerState.Down,
        };
    }
}
