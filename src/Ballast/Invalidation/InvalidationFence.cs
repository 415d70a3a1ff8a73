using Ballast.Pool;
using Ballast.SharedView;

namespace Ballast.Invalidation;

/// <summary>
/// The last step for an invalidation its server could not confirm: fence the server, and owe the delete in the journal
/// for exactly as long as the outcome leaves the old value readable. Taken by the first attempt's confirm-or-fence
/// (<see cref="Invalidator"/>) and by the journal's retry of a delete owed until confirmed (<see cref="JournalRetrier"/>).
/// </summary>
internal sealed class InvalidationFence
{
    private readonly IFencer _fencer;
    private readonly InvalidationJournal _journal;
    private readonly ClusterView _view;

    /// <param name="fencer">Fences the server for every frontend.</param>
    /// <param name="journal">Keeps what is owed.</param>
    /// <param name="view">This frontend's copy of the view: the fence's epoch is read there.</param>
    public InvalidationFence(IFencer fencer, InvalidationJournal journal, ClusterView view)
    {
        _fencer = fencer;
        _journal = journal;
        _view = view;
    }

    /// <summary>
    /// Fences <paramref name="node"/> for the unconfirmed delete of <paramref name="key"/>. With the fence held, the
    /// failback's flush comes after the delete, so a delete owed until confirmed is owed from then on only until a
    /// readmission after the fence (an entry of an earlier epoch already is). Without it, no flush is known to come
    /// after the delete: it is owed until the server confirms it, whatever readmission the view shows.
    /// </summary>
    /// <param name="node">The server.</param>
    /// <param name="key">The key the delete invalidates.</param>
    /// <param name="pending">The journal's entry for the delete, when it has one.</param>
    /// <param name="detail">What went wrong, for the event and the log.</param>
    /// <param name="cancellationToken">The lifetime of the work (the client's or the journal round's, never a caller's).</param>
    /// <param name="coversSince">When the request the fence settles was sent (see <see cref="IFencer.FenceAsync"/>).</param>
    /// <returns>True when a quorum holds the fence.</returns>
    public async Task<bool> FenceOrOweAsync(ServerNode node, string key, PendingInvalidation? pending, string? detail, CancellationToken cancellationToken, long coversSince = long.MaxValue)
    {
        if (await _fencer.FenceAsync(node, ServerFailureReason.InvalidationUnconfirmed, detail, cancellationToken, coversSince: coversSince).ConfigureAwait(false))
        {
            if (pending is { IsUntilConfirmed: true } && _view[node.Index] is { IsDown: true } fence)
            {
                _journal.Add(pending.Server, pending.Key, fence.Epoch);
                _journal.Remove(pending);
            }

            return true;
        }

        if (pending is not { IsUntilConfirmed: true })
        {
            if (pending is not null)
            {
                _journal.Remove(pending);
            }

            OweUntilConfirmed(node, key);
        }

        return false;
    }

    /// <summary>Owes the delete of <paramref name="key"/> on <paramref name="node"/> until the server confirms it: no readmission settles it.</summary>
    public void OweUntilConfirmed(ServerNode node, string key)
        => _journal.Add(node.EndPoint.ToString(), key, PendingInvalidation.UntilConfirmed);
}
