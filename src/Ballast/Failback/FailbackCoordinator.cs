using Ballast.Diagnostics;
using Ballast.Health;
using Ballast.Invalidation;
using Ballast.Pool;
using Ballast.Protocol.Commands;
using Ballast.SharedView;

namespace Ballast.Failback;

/// <summary>
/// Brings a server back: for a server that is down here or in the shared view, one step per maintenance tick publishes
/// a fence still owed, probes when the backoff allows (Down → Probing → Recovering or back to Down), and then tries
/// the failback: after the hold time, exactly one frontend (the holder of the outage's lock) flushes the server and
/// readmits it in the view by compare-and-swap; every other frontend readmits it when its view shows it up.
/// </summary>
internal sealed class FailbackCoordinator
{
    private readonly ServerSet _servers;
    private readonly ClusterView _view;
    private readonly ViewProtocol? _protocol;
    private readonly Fencer _fencer;
    private readonly InvalidationJournal _journal;
    private readonly PoolEvents _events;
    private readonly MemcachedClientOptions _options;
    private readonly TimeProvider _time;
    private readonly string _frontendId;

    public FailbackCoordinator(ServerSet servers, ClusterView view, ViewProtocol? protocol, Fencer fencer, InvalidationJournal journal, PoolEvents events, MemcachedClientOptions options, TimeProvider time, string frontendId)
    {
        _servers = servers;
        _view = view;
        _protocol = protocol;
        _fencer = fencer;
        _journal = journal;
        _events = events;
        _options = options;
        _time = time;
        _frontendId = frontendId;
    }

    /// <summary>True when <paramref name="node"/> needs a recovery step: down here, or fenced in the view.</summary>
    public bool NeedsStep(ServerNode node) => node.Health.IsDown || !_view.IsUp(node.Index);

    /// <summary>
    /// One recovery step for a server that is down here or in the view: publish a fence still owed, probe when the
    /// backoff allows, then try the failback. Never two steps for one server at once (the caller claims it).
    /// </summary>
    public async Task StepAsync(ServerNode node, CancellationToken cancellationToken)
    {
        var health = node.Health;
        try
        {
            var readmissionJustRead = false;
            if (health.FenceOwed && !AnswersOwedFence(node, _view[node.Index]))
            {
                readmissionJustRead = await _fencer.PublishOwedAsync(node, newer => AnswersOwedFence(node, newer), cancellationToken).ConfigureAwait(false) is not null;
                if (health.FenceOwed && !readmissionJustRead)
                {
                    return;
                }
            }

            // Fenced by the view while this frontend still had it up: it is down here too from now on, and says so like
            // any other outage (a readmission that completed only after the next fence, its last write held up by a
            // blackhole, went down again here untold: simulator seed replicated 9015860). Only then: a server already
            // reachable again (Recovering) goes on to its failback without another probe.
            if (!health.IsDown && health.MarkDown())
            {
                var fence = _view[node.Index];
                _events.ServerFailed(node, ServerFailureReason.SharedView, fence.Epoch, fence.DownDetail);
            }

            if (health.State != HealthState.Recovering)
            {
                if (!health.TryStartProbe())
                {
                    return;
                }

                if (!await ProbeAsync(node, cancellationToken).ConfigureAwait(false))
                {
                    health.ProbeFailed();
                    return;
                }

                health.ProbeSucceeded();
            }

            await TryReadmitAsync(node, readmissionJustRead, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            health.EndStep();
        }
    }

    private async Task<bool> ProbeAsync(ServerNode node, CancellationToken cancellationToken)
    {
        try
        {
            await node.ExecuteAsync(TextCommand.Version(), cancellationToken, evenIfDown: true).ConfigureAwait(false);
            return true;
        }
        catch (MemcachedException error)
        {
            node.Errors.Absorbed(AbsorbedError.ProbeFailed, null, error);
            return false;
        }
    }

    private async Task TryReadmitAsync(ServerNode node, bool readmissionJustRead, CancellationToken cancellationToken)
    {
        var health = node.Health;
        var downFor = health.DownSince == 0 ? TimeSpan.Zero : _time.GetElapsedTime(health.DownSince);
        if (_protocol is null)
        {
            // No shared view (Rehash, or the view switched off): PECL's behaviour, readmit after the retry interval.
            var wait = _options.FailoverPolicy == FailoverPolicy.Rehash ? _options.Failback.RehashRetryInterval : HoldTime(node);
            if (downFor >= wait)
            {
                var flushed = _options.Failback.FlushPoolOnFailback && await FlushPoolAsync(_servers.Main, 0, cancellationToken).ConfigureAwait(false);
                Readmit(node, 0, flushed, downFor);
            }

            return;
        }

        var entry = _view[node.Index];
        if (entry.AwaitsRecovery)
        {
            // A lost record is recovered for the whole pool at once (the view refresher), not by this server's failback.
            return;
        }

        if (!entry.IsDown)
        {
            // The view readmitted the server after the outage this frontend saw: someone flushed it since.
            if (ReadmittedSinceOwnOutage(node, entry, readmissionJustRead || _view.IsLeaseFresh))
            {
                Readmit(node, entry.Epoch, flushedHere: false, downFor);
            }
            else if (entry.Epoch <= health.Epoch)
            {
                // This frontend's own fence has not reached the view: owe it.
                health.OweFence(health.Epoch);
            }

            return;
        }

        if (downFor < HoldTime(node) || !health.MayTakeFailbackLock(entry.Epoch))
        {
            return;
        }

        // The seed's lock, one per outage epoch: exactly one frontend flushes. The protocol keeps it where this
        // server's flush cannot wipe it; the others wait for the view to show the server up.
        var locked = await _protocol.TryTakeFailbackLockAsync(node.Index, entry.Epoch, cancellationToken).ConfigureAwait(false);
        if (locked != true)
        {
            // Null: no answer, or no majority either way; probe again before the next attempt.
            if (locked is null)
            {
                health.ContactLost();
            }
            else
            {
                // Someone else flushes this outage; its readmission reaches this frontend through the view.
                health.FailbackLockHeldElsewhere(entry.Epoch, _options.Failback.LockTimeToLive);
            }

            return;
        }

        // No flush before every frontend that could still use the server has stopped: the fence must have been held by
        // a write quorum for the bound. The hold time counts from when this frontend lost contact, which may be long
        // before its fence could be published (a frontend cut off from everything publishes all its fences when its
        // links return, and flushed at once servers that others were still counting on).
        if (_protocol.FenceHeldFor(node.Index, entry.Epoch) is not { } held || held < _options.SharedView.Bound)
        {
            return;
        }

        // A server that hosts a replica of the view loses its copy of every record to the flush: one such flush at a
        // time in the pool (with lost-record recoveries), so that a majority of the records is never lost at once,
        // and a read of them from before the flush, to put that copy back from.
        var straggler = _options.SharedView.RefreshInterval / 2;
        PoolLock? poolLock = null;
        ViewReadResult? beforeFlush = null;
        if (_protocol.HostsReplica(node))
        {
            poolLock = await _protocol.TryTakePoolLockAsync(cancellationToken).ConfigureAwait(false);
            if (poolLock is null)
            {
                return;
            }

            beforeFlush = await _protocol.ReadAsync(straggler, cancellationToken).ConfigureAwait(false);
            if (!beforeFlush.Value.IsQuorum)
            {
                await poolLock.DisposeAsync().ConfigureAwait(false);
                return;
            }
        }

        await using (poolLock)
        {
            // A connection to the server first, so that the flush goes out at once after the snapshot (see
            // ServerNode.TryFlushAsync); none opened ends the round.
            if (!await node.TryOpenConnectionAsync(cancellationToken).ConfigureAwait(false))
            {
                health.ContactLost();
                return;
            }

            // Read the record last thing before flushing; the readmission below swaps it only where it is still this
            // one. A fence published in between (a delete that failed after the flush began) changes it, and the
            // server is not readmitted on this round: the next round flushes again. Read after the locks, not before:
            // a flush of another witness can wipe this outage's lock, and another frontend then takes it, flushes and
            // readmits the server while this one waits for the pool lock; a snapshot from before that flushed the
            // readmitted server again, under a frontend counting on it (simulator seed gutter 2003505).
            // A copy at this outage's epoch written by a lost-record recovery ("lost") is that recovery's to flush,
            // even where this frontend's own view still holds its own fence of the same epoch, which the recovery
            // touched over (simulator seed gutter 12000043: both flushed the server for one outage).
            var before = await _protocol.SnapshotAsync(node.Index, straggler, cancellationToken).ConfigureAwait(false);
            if (before.Length < _protocol.ReadQuorum
                || before.Any(b => b.Entry is { } seen && (seen.Epoch > entry.Epoch || (seen.Epoch == entry.Epoch && seen.AwaitsRecovery))))
            {
                return;
            }

            // The locks are checked once more, last thing before the flush: a copy can vanish under its holder (a
            // witness restarted or flushed) and be taken by another frontend meanwhile (see PoolLock.StillHeldAsync).
            if (await _protocol.TryTakeFailbackLockAsync(node.Index, entry.Epoch, cancellationToken).ConfigureAwait(false) != true
                || (poolLock is not null && !await poolLock.StillHeldAsync(_protocol.WriteQuorum, cancellationToken).ConfigureAwait(false)))
            {
                return;
            }

            // One attempt per round (see ServerNode.TryFlushAsync). A failed attempt ends the round; the lock stays with
            // this frontend (its owner), which probes and tries again, by which time a late flush has landed before any
            // readmission.
            if (!await node.TryFlushAsync(ServerFlushReason.Failback, entry.Epoch, onOpenConnectionOnly: true, cancellationToken).ConfigureAwait(false))
            {
                health.ContactLost();
                return;
            }

            if (_options.Failback.FlushPoolOnFailback)
            {
                await FlushPoolAsync(_servers.Main.Where(n => n != node), entry.Epoch, cancellationToken).ConfigureAwait(false);
            }

            // Where a flush reached a lock (a one-server pool, a pool flush, a witness), put it back at once so a
            // frontend that probes late does not flush again.
            await _protocol.RenewFailbackLocksHeldAsync(cancellationToken).ConfigureAwait(false);
            if (poolLock is not null)
            {
                await poolLock.RenewAfterFlushAsync([node.Index], cancellationToken).ConfigureAwait(false);
            }

            var up = entry.Next(down: false, _time.GetUtcNow().ToUnixTimeMilliseconds(), _frontendId);
            var swapped = await _protocol.ReadmitAsync(node.Index, up, before, node, beforeFlush, cancellationToken).ConfigureAwait(false);
            if (swapped >= _protocol.WriteQuorum)
            {
                _view.ApplyLocal(node.Index, up);

                // The swaps can end long after they landed (one held up by a blackhole, simulator seed replicated
                // 9015860: 2.2 s); a fence another frontend published meanwhile, which this frontend's view has read,
                // outranks the readmission. The server is not readmitted here: that fence's failback flushes it again.
                if (_view[node.Index] is { IsDown: true } fence && fence.Epoch > up.Epoch)
                {
                    return;
                }

                _journal.Supersede(node.EndPoint.ToString(), up.Epoch);
                Readmit(node, up.Epoch, flushedHere: true, downFor);
            }
        }
    }

    /// <summary>
    /// True when <paramref name="entry"/> (a record of the view, however old) has the server readmitted after every
    /// outage this frontend saw, and no delete this frontend owes there failed since that readmission: someone flushed
    /// the server after everything the fence this frontend still owes could stand for, so the fence is moot and the
    /// frontend adopts the readmission instead (after a probe, with a fresh view, once its deletes owed until
    /// confirmed have landed: see <see cref="ReadmittedSinceOwnOutage"/>). A frontend cut off from the view's replicas
    /// publishes its fences when its links return; fencing the readmission instead would flush the server a second
    /// time for one outage. Freshness is not needed here: a newer outage is someone else's fence.
    /// </summary>
    private bool AnswersOwedFence(ServerNode node, ViewEntry entry)
        => IsReadmissionAfterOwnOutage(node, entry) && !_journal.HasFlushBoundPendingSince(node.EndPoint.ToString(), entry.Epoch);

    /// <summary>
    /// True when this frontend may readmit the server through the view's record: the record (<paramref name="viewIsFresh"/>:
    /// read within the view's lease, or from a quorum just now) has it up at a later epoch than any outage this
    /// frontend saw, and this frontend owes no invalidation there at all.
    /// </summary>
    private bool ReadmittedSinceOwnOutage(ServerNode node, ViewEntry entry, bool viewIsFresh)
        => viewIsFresh && IsReadmissionAfterOwnOutage(node, entry) && !_journal.HasPendingFor(node.EndPoint.ToString());

    /// <summary>The record has the server up, at a later epoch than any outage this frontend saw.</summary>
    private static bool IsReadmissionAfterOwnOutage(ServerNode node, ViewEntry entry)
        => !entry.IsDown && !entry.AwaitsRecovery && entry.Epoch > node.Health.Epoch;

    private void Readmit(ServerNode node, long epoch, bool flushedHere, TimeSpan downFor)
    {
        // A lost-record recovery this frontend ran flushed it too, though the readmission reached it through the view.
        flushedHere |= node.Health.WasFlushedHereFor(epoch);
        var downSince = node.Health.DownSince;
        node.Health.ObserveReadmission(epoch);
        if (node.Health.Readmit())
        {
            // Connections from before the outage may reach the server's previous life (a restart resets them only when
            // they are next used): closed now, so no late reset fences the server again for the outage just flushed.
            node.RetireConnectionsOpenedBefore(downSince);
            node.ForgetServerStart();
            _events.ServerRecovered(node, epoch, flushedHere, downFor);
        }
    }

    /// <summary>The failback hold: the minimum down time, doubled for each other outage in the flap window (damping).</summary>
    private TimeSpan HoldTime(ServerNode node)
    {
        var failback = _options.Failback;
        var flaps = Math.Max(0, node.Health.OutagesWithin(failback.FlapWindow) - 1);
        var hold = failback.MinimumDownTime * Math.Pow(2, Math.Min(flaps, 20));
        return hold > failback.MaxHoldTime ? failback.MaxHoldTime : hold;
    }

    /// <summary>Flushes every server given (<see cref="FailbackOptions.FlushPoolOnFailback"/>); true when all answered.</summary>
    private static async Task<bool> FlushPoolAsync(IEnumerable<ServerNode> nodes, long epoch, CancellationToken cancellationToken)
    {
        var results = await Task.WhenAll(nodes.Select(n => n.TryFlushAsync(ServerFlushReason.PoolFlushOnFailback, epoch, onOpenConnectionOnly: false, cancellationToken))).ConfigureAwait(false);
        return results.All(ok => ok);
    }
}
