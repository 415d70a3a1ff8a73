using Ballast.SharedView;

namespace Ballast.Pool;

/// <summary>Fencing: marking a server down here and, through the shared view, for every frontend of the pool.</summary>
internal sealed partial class ServerPool
{
    /// <summary>
    /// Marks <paramref name="node"/> down in this frontend at once, then publishes the fence to a write quorum of the
    /// shared view, touching the record even when it already says "down": a failback that read the record before
    /// this call then cannot readmit the server without flushing it again, so whatever this fence stands for (a
    /// delete that did not land) is covered by a flush that comes after it. Returns true when the fence is known to
    /// every frontend that reads the view within the bound (or there is no shared view); false when no quorum could be
    /// reached, in which case the publish is retried in the background and the server stays down here.
    /// </summary>
    public async Task<bool> FenceAsync(ServerNode node, ServerFailureReason reason, string? detail, CancellationToken cancellationToken, bool markedDownByCaller = false)
    {
        var newlyDown = node.Health.MarkDown() || markedDownByCaller;
        if (ViewStore is null)
        {
            if (newlyDown)
            {
                RaiseFailed(node, reason, 0, detail);
            }

            return true;
        }

        var target = View[node.Index];
        if (!target.IsDown)
        {
            target = target.Next(down: true, _time.GetUtcNow().ToUnixTimeMilliseconds(), FrontendId);
            View.ApplyLocal(node.Index, target);
        }

        node.Health.OweFence(target.Epoch);
        if (newlyDown)
        {
            RaiseFailed(node, reason, target.Epoch, detail);
        }

        return await PublishFenceAsync(node, target, cancellationToken).ConfigureAwait(false);
    }

    private async Task<bool> PublishFenceAsync(ServerNode node, ViewEntry target, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var result = await ViewStore!.FenceAsync(node.Index, target, _options.SharedView.RefreshInterval / 2, _time, cancellationToken).ConfigureAwait(false);
            if (result.Contradiction is { } newer)
            {
                // Someone readmitted the server after the outage this fence was computed from: fence the new epoch.
                View.ApplyLocal(node.Index, newer);
                target = newer.Next(down: true, _time.GetUtcNow().ToUnixTimeMilliseconds(), FrontendId);
                View.ApplyLocal(node.Index, target);
                node.Health.OweFence(target.Epoch);
                continue;
            }

            if (result.Holding >= ViewStore.WriteQuorum)
            {
                node.Health.FencePublished();
                return true;
            }

            break;
        }

        return false;
    }

    private void OnLocalFailure(ServerNode node, ServerFailureReason reason, Exception? error)
        => Observe(FenceAsync(node, reason, error?.Message, _shutdown.Token, markedDownByCaller: true), "fence", node);
}
