using Ballast.Health;
using Ballast.Diagnostics;
using Ballast.Protocol;
using Ballast.Protocol.Commands;
using Ballast.SharedView;

namespace Ballast.Pool;

/// <summary>
/// The background loop of a frontend: reads the shared view every quarter of the bound, probes down servers on
/// their backoff schedule, carries out failback (one frontend flushes, all readmit after the flush), retries owed
/// fences and invalidations. Bounded per tick; stops with the client.
/// </summary>
internal sealed partial class ServerPool
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(25);
    private const int MaxRetriesPerRound = 64;
    private long _lastViewRead;
    private int _retryRunning;
    private int _recoveringLost;

    private async Task MaintainAsync(CancellationToken cancellationToken)
    {
        await FenceServersOwedFromJournalAsync(cancellationToken).ConfigureAwait(false);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                // Not while the first read is still going: it may be recovering lost records (a brand-new pool), and a
                // refresh that read them lost meanwhile would mark the servers down, to wait for a probe and a failback
                // after the recovery made them up.
                if (ViewStore is not null && Ready.IsCompleted && _time.GetElapsedTime(_lastViewRead) >= _options.SharedView.RefreshInterval)
                {
                    _lastViewRead = _time.GetTimestamp();
                    Observe(RefreshViewAsync(_lastViewRead, cancellationToken), "shared view read");
                }

                foreach (var node in All)
                {
                    if ((node.Health.IsDown || !View.IsUp(node.Index)) && node.Health.TryBeginStep())
                    {
                        Observe(RecoverAsync(node, cancellationToken), "recovery step", node);
                    }
                }

                // Not awaited: a retry round waits for servers, and the view reads above must keep their cadence.
                if (Journal.Count > 0 && Interlocked.CompareExchange(ref _retryRunning, 1, 0) == 0)
                {
                    Observe(RetryInvalidationsAsync(cancellationToken), "invalidation retries");
                }

                await Task.Delay(Tick, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception error)
            {
                // The loop must outlive any one failed step; each step reports through events and retries next tick.
                _options.Logger.MaintenanceStepFailed(error, PoolName);
                await Task.Delay(Tick, _time, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// A process that restarts with invalidations still owed (a journal on disk) cannot know whether those keys were
    /// read since: it fences their servers, and the flush that readmits them settles the debt.
    /// </summary>
    private async Task FenceServersOwedFromJournalAsync(CancellationToken cancellationToken)
    {
        var owed = Journal.Snapshot().Select(p => p.Server).ToHashSet(StringComparer.Ordinal);
        if (owed.Count == 0)
        {
            return;
        }

        await Ready.ConfigureAwait(false);
        foreach (var node in All.Where(n => owed.Contains(n.EndPoint.ToString())))
        {
            await FenceAsync(node, ServerFailureReason.InvalidationUnconfirmed, "invalidations owed from the journal of an earlier run", cancellationToken, markedDownByCaller: true).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Reads the view; servers another frontend fenced, and servers whose records were lost, are marked down here too.
    /// Lost servers are flushed (by one frontend, under the store's lock) before anyone reads them again. On the first
    /// read, a brand-new pool (no records yet) is recovered before the read counts, so a new pool does not start with
    /// every server down.
    /// </summary>
    internal async Task RefreshViewAsync(long startTimestamp, CancellationToken cancellationToken, bool firstRead = false)
    {
        var straggler = _options.SharedView.RefreshInterval / 2;
        var read = await ViewStore!.ReadAsync(straggler, _time, cancellationToken).ConfigureAwait(false);
        // Bounded: rounds of recovering (or waiting for the frontend that holds the lock to) for at most twice the
        // bound (a recovery of records someone may have used waits the bound between its fence and its flush), then
        // the lost servers stay down like any other until recovered in the background. Frontends that start together
        // on a brand-new pool all find it lost; one recovers it, and the others wait for that rather than start with
        // every server down. (Callers wait for this first read at most an operation timeout: EnsureReadyAsync.)
        // A first read that no quorum answered (a connection still being opened on a loaded machine) is tried again
        // within the same bound: a new client's first calls would otherwise fail for want of a lease until the next
        // periodic read.
        // It stops early once a round can make no more progress: a lost server that does not answer (dead at start-up)
        // cannot be flushed, and waiting for it would hold up every other server.
        var firstReadStarted = _time.GetTimestamp();
        var mayProgress = true;
        while (firstRead && mayProgress && (!read.IsQuorum || LostIndexes(read).Count > 0) && _time.GetElapsedTime(firstReadStarted) < 2 * _options.SharedView.Bound)
        {
            if (read.IsQuorum)
            {
                mayProgress = await RecoverLostAsync(LostIndexes(read), cancellationToken).ConfigureAwait(false);
            }

            // The lease counts from when the read that grants it began, not from the first attempt (a recovery may
            // have taken longer than the bound itself).
            startTimestamp = _time.GetTimestamp();
            read = await ViewStore.ReadAsync(straggler, _time, cancellationToken).ConfigureAwait(false);
            if (!read.IsQuorum || LostIndexes(read).Count > 0)
            {
                await Task.Delay(Tick, _time, cancellationToken).ConfigureAwait(false);
            }
        }

        foreach (var index in View.Apply(read, startTimestamp))
        {
            var entry = View[index];
            var node = All[index];
            if (entry.IsDown)
            {
                node.Health.ObserveEpoch(entry.Epoch);
                if (node.Health.MarkDown())
                {
                    RaiseFailed(node, ServerFailureReason.SharedView, entry.Epoch, entry.IsLost ? "its shared-view record was lost (flush, restart or eviction); it is flushed before it is read" : $"fenced by frontend {entry.ShownWriter}");
                }
            }
            else
            {
                Journal.Supersede(node.EndPoint.ToString(), entry.Epoch);
            }
        }

        if (!firstRead && LostIndexes(read) is { Count: > 0 } lost)
        {
            Observe(RecoverLostAsync(lost, cancellationToken), "recovery of lost view records");
        }
    }

    private static List<int> LostIndexes(ViewReadResult read)
        => read.Entries.Select((entry, index) => (entry, index)).Where(e => e.entry.AwaitsRecovery).Select(e => e.index).ToList();

    /// <summary>
    /// One recovery of lost records at a time per frontend; the store's lock makes it one per pool. True when a
    /// recovery made progress or is under way (here or on another frontend), so reading again may find them recovered.
    /// </summary>
    private async Task<bool> RecoverLostAsync(List<int> lost, CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _recoveringLost, 1, 0) != 0)
        {
            return true;
        }

        try
        {
            var outcome = await ViewStore!.RecoverLostAsync(lost, cancellationToken).ConfigureAwait(false);
            return outcome.Recovered.Count > 0 || outcome.UnderWayElsewhere;
        }
        catch (MemcachedException)
        {
            // The next read finds them lost still and tries again.
            return false;
        }
        finally
        {
            Volatile.Write(ref _recoveringLost, 0);
        }
    }

    /// <summary>
    /// One recovery step for a server that is down here or in the view: publish a fence still owed, probe when the
    /// backoff allows (Down → Probing → Recovering or back to Down), then try the failback.
    /// </summary>
    private async Task RecoverAsync(ServerNode node, CancellationToken cancellationToken)
    {
        var health = node.Health;
        try
        {
            if (health.FenceOwed)
            {
                var entry = View[node.Index];
                await PublishFenceAsync(node, entry.IsDown ? entry : entry.Next(true, _time.GetUtcNow().ToUnixTimeMilliseconds(), FrontendId), cancellationToken).ConfigureAwait(false);
                if (health.FenceOwed)
                {
                    return;
                }
            }

            // Fenced by the view while this frontend still had it up: it is down here too from now on. (Only then: a
            // server already reachable again (Recovering) goes on to its failback without another probe.)
            if (!health.IsDown)
            {
                health.MarkDown();
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

            await TryReadmitAsync(node, cancellationToken).ConfigureAwait(false);
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
            _options.Logger.ProbeFailed(error, node.EndPoint);
            return false;
        }
    }

    private async Task TryReadmitAsync(ServerNode node, CancellationToken cancellationToken)
    {
        var health = node.Health;
        var downFor = health.DownSince == 0 ? TimeSpan.Zero : _time.GetElapsedTime(health.DownSince);
        if (ViewStore is null)
        {
            // No shared view (Rehash, or the view switched off): PECL's behaviour, readmit after the retry interval.
            var wait = Policy == FailoverPolicy.Rehash ? _options.Failback.RehashRetryInterval : HoldTime(node);
            if (downFor >= wait)
            {
                var flushed = _options.Failback.FlushPoolOnFailback && await FlushAsync(Main, cancellationToken).ConfigureAwait(false);
                Readmit(node, 0, flushed, downFor);
            }

            return;
        }

        var entry = View[node.Index];
        if (entry.AwaitsRecovery)
        {
            // A lost record is recovered for the whole pool at once (RefreshViewAsync), not by this server's failback.
            return;
        }

        if (!entry.IsDown)
        {
            // The view readmitted the server after the outage this frontend saw: someone flushed it since.
            if (entry.Epoch > health.Epoch && !Journal.HasPendingFor(node.EndPoint.ToString()) && View.IsLeaseFresh)
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

        // The seed's lock, one per outage epoch: exactly one frontend flushes. The store keeps it where this server's
        // flush cannot wipe it; the others wait for the view to show the server up.
        var locked = await ViewStore.TryTakeFailbackLockAsync(node.Index, entry.Epoch, cancellationToken).ConfigureAwait(false);
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

        // Read the record before flushing; the readmission below swaps it only where it is still this one. A fence
        // published in between (a delete that failed after the flush began) changes it, and the server is not
        // readmitted on this round: the next round flushes again.
        var straggler = _options.SharedView.RefreshInterval / 2;
        var before = await ViewStore.SnapshotAsync(node.Index, straggler, _time, cancellationToken).ConfigureAwait(false);
        if (before.Length < ViewStore.ReadQuorum || before.Any(b => b.Entry is { } seen && seen.Epoch > entry.Epoch))
        {
            return;
        }

        // One attempt per round (see EpochWatermark.FlushAsync). A failed attempt ends the round; the lock stays with
        // this frontend (its owner), which probes and tries again, by which time a late flush has landed before any
        // readmission.
        if (!await EpochWatermark.FlushAsync(node, cancellationToken).ConfigureAwait(false))
        {
            health.ContactLost();
            return;
        }

        if (_options.Failback.FlushPoolOnFailback)
        {
            await FlushAsync(Main.Where(n => n != node), cancellationToken).ConfigureAwait(false);
        }

        // Where a flush reached the lock (a one-server pool, a pool flush), put it back at once so a frontend that
        // probes late does not flush again.
        await ViewStore.RenewFailbackLockAsync(node.Index, entry.Epoch, cancellationToken).ConfigureAwait(false);

        var up = entry.Next(down: false, _time.GetUtcNow().ToUnixTimeMilliseconds(), FrontendId);
        var swapped = await ViewStore.ReadmitAsync(node.Index, up, before, node, cancellationToken).ConfigureAwait(false);
        if (swapped >= ViewStore.WriteQuorum)
        {
            View.ApplyLocal(node.Index, up);
            Journal.Supersede(node.EndPoint.ToString(), up.Epoch);
            Readmit(node, up.Epoch, flushedHere: true, downFor);
        }
    }

    private void Readmit(ServerNode node, long epoch, bool flushedHere, TimeSpan downFor)
    {
        node.Health.ObserveEpoch(epoch);
        if (node.Health.Readmit())
        {
            RaiseRecovered(node, epoch, flushedHere, downFor);
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

    private async Task<bool> FlushAsync(IEnumerable<ServerNode> nodes, CancellationToken cancellationToken)
    {
        var flushes = nodes.Select(async n =>
        {
            try
            {
                await n.ExecuteAsync(TextCommand.FlushAll(0), cancellationToken, evenIfDown: true).ConfigureAwait(false);
                return true;
            }
            catch (MemcachedException error)
            {
                _options.Logger.FailbackFlushFailed(error, n.EndPoint);
                return false;
            }
        });
        var results = await Task.WhenAll(flushes).ConfigureAwait(false);
        return results.All(ok => ok);
    }

    /// <summary>
    /// One round of journal retries: at most <see cref="MaxRetriesPerRound"/> entries, sent together, so a long journal
    /// costs several rounds rather than one long one. Runs beside the loop (never two rounds at once).
    /// </summary>
    private async Task RetryInvalidationsAsync(CancellationToken cancellationToken)
    {
        try
        {
            var retries = new List<Task>();
            foreach (var pending in Journal.Snapshot())
            {
                if (retries.Count >= MaxRetriesPerRound)
                {
                    break;
                }

                var node = All.FirstOrDefault(n => n.EndPoint.ToString() == pending.Server);
                if (node is null)
                {
                    Journal.Remove(pending);
                    continue;
                }

                var entry = View[node.Index];
                if (!entry.IsDown && entry.Epoch > pending.Epoch)
                {
                    Journal.Remove(pending);
                    continue;
                }

                if (node.Health.IsDown)
                {
                    continue;
                }

                retries.Add(RetryOneAsync(node, pending, cancellationToken));
            }

            await Task.WhenAll(retries).ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _retryRunning, 0);
        }
    }

    private async Task RetryOneAsync(ServerNode node, Invalidation.PendingInvalidation pending, CancellationToken cancellationToken)
    {
        try
        {
            var key = CacheKey.Create(pending.Key, _options.InvalidKeyHandling);
            await node.ExecuteAsync(new DeleteCommand(key), cancellationToken).ConfigureAwait(false);
            Journal.Remove(pending);
            JournalRetry.Confirmed(_options.Logger, node.EndPoint, pending.Key);
        }
        catch (MemcachedException error)
        {
            // Still owed; the next round retries, and the server stays unread here until it is confirmed.
            JournalRetry.Failed(_options.Logger, error, node.EndPoint, pending.Key);
        }
    }
}
