using Ballast.Diagnostics;
using Ballast.Pool;
using Ballast.Protocol;
using Ballast.Protocol.Commands;
using Ballast.SharedView;

namespace Ballast.Invalidation;

/// <summary>
/// Retries the invalidations this frontend owes (its journal) until each is confirmed, or a flush of its server
/// (a readmission at a later epoch) makes it moot. A round sends at most <see cref="MaxRetriesPerRound"/> entries
/// together, so a long journal costs several rounds rather than one long one, and rounds never overlap.
/// </summary>
internal sealed class JournalRetrier
{
    private const int MaxRetriesPerRound = 64;

    private readonly InvalidationJournal _journal;
    private readonly ServerSet _servers;
    private readonly ClusterView _view;
    private readonly PoolEvents _events;
    private readonly MemcachedClientOptions _options;
    private readonly InvalidationFence _fence;
    private int _running;

    public JournalRetrier(InvalidationJournal journal, ServerSet servers, ClusterView view, PoolEvents events, MemcachedClientOptions options, IFencer fencer)
    {
        _fence = new InvalidationFence(fencer, journal, view);
        _journal = journal;
        _servers = servers;
        _view = view;
        _events = events;
        _options = options;
    }

    /// <summary>Starts a round when something is owed and no round runs; not awaited, so view reads keep their cadence.</summary>
    public void RetryIfOwed(CancellationToken cancellationToken)
    {
        if (_journal.Count > 0 && Interlocked.CompareExchange(ref _running, 1, 0) == 0)
        {
            _events.Observe(RoundAsync(cancellationToken), "invalidation retries");
        }
    }

    private async Task RoundAsync(CancellationToken cancellationToken)
    {
        try
        {
            var retries = new List<Task>();
            foreach (var pending in _journal.Snapshot())
            {
                if (retries.Count >= MaxRetriesPerRound)
                {
                    break;
                }

                var node = _servers.Find(pending.Server);
                if (node is null)
                {
                    _journal.Remove(pending);
                    continue;
                }

                var entry = _view[node.Index];
                if (!entry.IsDown && entry.Epoch > pending.Epoch)
                {
                    _journal.Remove(pending);
                    continue;
                }

                // A delete only a confirmation settles goes wherever the view has the server up, even while this
                // frontend still holds it down (it readmits only once these are confirmed).
                var sendEvenIfDown = pending.IsUntilConfirmed && !entry.IsDown && _view.IsLeaseFresh;
                if (node.Health.IsDown && !sendEvenIfDown)
                {
                    continue;
                }

                retries.Add(RetryOneAsync(node, pending, sendEvenIfDown, cancellationToken));
            }

            await Task.WhenAll(retries).ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    private async Task RetryOneAsync(ServerNode node, PendingInvalidation pending, bool evenIfDown, CancellationToken cancellationToken)
    {
        try
        {
            var key = CacheKey.Create(pending.Key, _options.InvalidKeyHandling);
            await node.ExecuteAsync(new DeleteCommand(key), cancellationToken, evenIfDown).ConfigureAwait(false);
            _journal.Remove(pending);
            JournalRetry.Confirmed(_options.Logger, node.EndPoint, pending.Key);
        }
        catch (MemcachedException error)
        {
            // Still owed; the next round retries, and the server stays unread here until it is confirmed.
            JournalRetry.Failed(_options.Logger, error, node.EndPoint, pending.Key);

            // A delete only a confirmation settles failed on a server the view has up, where every other frontend
            // reads the key's old value: confirmed or fenced, like any invalidation, and owed from then on only until a
            // readmission after the fence. Left to retry alone, it was owed for as long as this frontend could not reach
            // the server while the others read it (simulator seed offline 20000503: a set not sent to a server this
            // frontend held down, which another had readmitted meanwhile, and a one-way partition that held every retry
            // for 1.3 s; the old value was read 1.1 s after the set returned).
            if (pending.IsUntilConfirmed && !_view[node.Index].IsDown)
            {
                await _fence.FenceOrOweAsync(node, pending.Key, pending, error.Message, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
