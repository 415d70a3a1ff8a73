using Ballast.Pool;

namespace Ballast.SharedView;

/// <summary>
/// Fencing: marking a server down here and publishing that to a write quorum of the shared view, touching the
/// record even when it already says "down", so that a failback that read the record before the fence cannot readmit
/// the server without flushing it again: whatever the fence stands for (a delete that did not land) is covered by a
/// flush that comes after it.
/// </summary>
internal sealed class Fencer : IFencer
{
    private const int PublishAttempts = 3;

    private readonly ClusterView _view;
    private readonly ViewProtocol? _protocol;
    private readonly PoolEvents _events;
    private readonly string _frontendId;
    private readonly TimeSpan _straggler;
    private readonly TimeProvider _time;
    private readonly CancellationToken _lifetime;
    private readonly Publish?[] _latest;

    /// <param name="view">This frontend's copy of the view.</param>
    /// <param name="protocol">The view's protocol; null when the pool keeps no shared view.</param>
    /// <param name="events">Where transitions and background failures go.</param>
    /// <param name="frontendId">This frontend, as fences name their writer.</param>
    /// <param name="straggler">How long a publish waits for replicas beyond its quorum.</param>
    /// <param name="time">The clock.</param>
    /// <param name="lifetime">The client's lifetime: fences started by a detector run on it.</param>
    public Fencer(ClusterView view, ViewProtocol? protocol, PoolEvents events, string frontendId, TimeSpan straggler, TimeProvider time, CancellationToken lifetime)
    {
        _view = view;
        _protocol = protocol;
        _events = events;
        _frontendId = frontendId;
        _straggler = straggler;
        _time = time;
        _lifetime = lifetime;
        _latest = new Publish?[view.Count];
    }

    /// <inheritdoc />
    public async Task<bool> FenceAsync(ServerNode node, ServerFailureReason reason, string? detail, CancellationToken cancellationToken, bool markedDownByCaller = false, long coversSince = long.MaxValue)
    {
        var newlyDown = node.Health.MarkDown() || markedDownByCaller;
        if (_protocol is null)
        {
            if (newlyDown)
            {
                _events.ServerFailed(node, reason, 0, detail);
            }

            return true;
        }

        var target = FenceIfLost(node);
        if (!target.IsDown)
        {
            target = Next(target);
            _view.ApplyLocal(node.Index, target);
        }

        node.Health.OweFence(target.Epoch);
        if (newlyDown)
        {
            _events.ServerFailed(node, reason, target.Epoch, detail);
        }

        // One timeout used to publish two fences: the detector's and the invalidation's. A publish of this very fence
        // that began after the failed request was sent touches the record after it too, so it covers that request.
        if (Volatile.Read(ref _latest[node.Index]) is { } latest && latest.Epoch == target.Epoch && latest.StartedAt >= coversSince
            && await Runtime.WorkScheduler.Current.WaitAsync(latest.Outcome, CancellationToken.None).ConfigureAwait(false))
        {
            return true;
        }

        var publish = new Publish(PublishAsync(node, target, cancellationToken), _time.GetTimestamp(), target.Epoch);
        Volatile.Write(ref _latest[node.Index], publish);
        return await Runtime.WorkScheduler.Current.WaitAsync(publish.Outcome, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>
    /// Publishes a fence this frontend still owes (a publish that reached no quorum). True once a quorum holds it.
    /// When the record the publish meets is newer and <paramref name="answers"/> says it already answers the fence (a
    /// readmission after everything the fence stood for), the fence stays owed and is not moved to that epoch: the
    /// caller readmits the server instead (see <see cref="Failback.FailbackCoordinator"/>). Returns that record, read
    /// from a quorum just now, or null.
    /// </summary>
    public async Task<ViewEntry?> PublishOwedAsync(ServerNode node, Func<ViewEntry, bool> answers, CancellationToken cancellationToken)
    {
        var entry = FenceIfLost(node);
        ViewEntry? answered = null;
        await PublishAsync(node, entry.IsDown ? entry : Next(entry), cancellationToken, newer =>
        {
            answered = answers(newer) ? newer : null;
            return answered is not null;
        }).ConfigureAwait(false);
        return answered;
    }

    /// <summary>What a read of the view calls for a server it finds emptied: fence it, in the background, on the client's lifetime.</summary>
    public void OnEmptied(ServerNode node, string detail)
        => _events.Observe(FenceAsync(node, ServerFailureReason.SharedView, detail, _lifetime), "fence", node);

    /// <summary>What a node's own failure detection calls: fence it, in the background, on the client's lifetime.</summary>
    public void OnLocalFailure(ServerNode node, ServerFailureReason reason, Exception? error)
        => _events.Observe(FenceAsync(node, reason, error?.Message, _lifetime, markedDownByCaller: true), "fence", node);

    /// <summary>A publish of a fence: its outcome, when it began, and the epoch it fences.</summary>
    private sealed record Publish(Task<bool> Outcome, long StartedAt, long Epoch);

    /// <summary>The server's entry in this frontend's view; a lost one is replaced there by its fence first (see <see cref="ViewEntry.AsFence"/>).</summary>
    private ViewEntry FenceIfLost(ServerNode node)
    {
        var entry = _view[node.Index];
        if (entry.IsLost)
        {
            entry = entry.AsFence(_time.GetUtcNow().ToUnixTimeMilliseconds());
            _view.ApplyLocal(node.Index, entry);
        }

        return entry;
    }

    private ViewEntry Next(ViewEntry entry) => entry.Next(down: true, _time.GetUtcNow().ToUnixTimeMilliseconds(), _frontendId);

    private async Task<bool> PublishAsync(ServerNode node, ViewEntry target, CancellationToken cancellationToken, Func<ViewEntry, bool>? answeredBy = null)
    {
        if (_protocol is null)
        {
            return true;
        }

        for (var attempt = 0; attempt < PublishAttempts; attempt++)
        {
            var result = await _protocol.FenceAsync(node.Index, target, _straggler, cancellationToken).ConfigureAwait(false);
            if (result.Contradiction is { } newer)
            {
                _view.ApplyLocal(node.Index, newer);
                if (answeredBy?.Invoke(newer) == true)
                {
                    return false;
                }

                // Someone readmitted the server after the outage this fence was computed from: fence the new epoch.
                target = Next(newer);
                _view.ApplyLocal(node.Index, target);
                node.Health.OweFence(target.Epoch);
                continue;
            }

            if (result.Holding >= _protocol.WriteQuorum)
            {
                node.Health.FencePublished();
                return true;
            }

            break;
        }

        return false;
    }
}
