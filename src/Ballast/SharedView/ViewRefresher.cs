using Ballast.Diagnostics;
using Ballast.Pool;

namespace Ballast.SharedView;

/// <summary>
/// Keeps this frontend's copy of the shared view fresh: the first read (which operations wait for), a read every
/// quarter of the bound, a read at once when the store pushes a change, and the recovery of records found lost.
/// Servers another frontend fenced, and servers whose records were lost, are marked down here too.
/// </summary>
internal sealed class ViewRefresher
{
    private static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(25);

    private readonly ViewProtocol _protocol;
    private readonly ClusterView _view;
    private readonly ServerSet _servers;
    private readonly PoolEvents _events;
    private readonly SharedViewOptions _options;
    private readonly TimeProvider _time;
    private readonly Action<ServerNode, long> _onRecordUp;
    private readonly Action<ServerNode, string> _onEmptied;
    private readonly Lock _readGate = new();
    private long _lastRead;
    private Task _latestRead = Task.CompletedTask;
    private volatile bool _lastReadReachedQuorum = true;
    private int _recoveringLost;

    /// <param name="protocol">The view's protocol.</param>
    /// <param name="view">This frontend's copy, which reads renew.</param>
    /// <param name="servers">The pool's servers, marked down here when the view fences them.</param>
    /// <param name="events">Where transitions and background failures go.</param>
    /// <param name="options">The view's settings (bound, refresh interval).</param>
    /// <param name="time">The clock.</param>
    /// <param name="onRecordUp">Told of each server a read finds up at a new epoch (invalidations owed to it before are settled by its flush).</param>
    /// <param name="onEmptied">Told of each server a read finds emptied under the frontends using it (see <see cref="ViewReadResult.Emptied"/>), with why: it is to be fenced.</param>
    public ViewRefresher(ViewProtocol protocol, ClusterView view, ServerSet servers, PoolEvents events, SharedViewOptions options, TimeProvider time, Action<ServerNode, long> onRecordUp, Action<ServerNode, string> onEmptied)
    {
        _onEmptied = onEmptied;
        _protocol = protocol;
        _view = view;
        _servers = servers;
        _events = events;
        _options = options;
        _time = time;
        _onRecordUp = onRecordUp;
        Ready = Task.CompletedTask;
    }

    /// <summary>
    /// Completes when the first read of the shared view has finished (with or without a quorum). Operations wait for
    /// it, so a new frontend starts with the fences others published instead of with misses or, worse, without them.
    /// </summary>
    public Task Ready { get; private set; }

    /// <summary>
    /// True when operations need not wait for a view read: the first read is over, and either the lease is fresh for
    /// reads or the last read that ended reached no quorum (the view is out of reach: waiting would only make the
    /// miss slower). False when the lease lapsed only because the reads that renew it are late (a loaded machine
    /// whose periodic read started or ended late); see <see cref="RenewLapsedLeaseAsync"/>.
    /// </summary>
    public bool IsCurrent => Ready.IsCompleted && (_view.IsLeaseFreshForReads || !_lastReadReachedQuorum);

    /// <summary>
    /// The read that renews a lease that lapsed while the view was within reach: the read under way, or one started
    /// now when none is (the periodic read is late to start). Operations wait for it rather than miss for want of a
    /// read that is merely late; what they are then allowed is decided on the lease it grants, as always.
    /// </summary>
    public Task RenewLapsedLeaseAsync(CancellationToken lifetime)
    {
        lock (_readGate)
        {
            if (_latestRead.IsCompleted)
            {
                StartRead(lifetime, "shared view read for a lapsed lease");
            }

            return _latestRead;
        }
    }

    /// <summary>Starts the first read, and reads at once whenever the store pushes a change (after the first read).</summary>
    public void Start(CancellationToken lifetime)
    {
        // A store that pushes changes (etcd's watch) gets them applied at once, not at the next refresh. Not before the
        // first read has ended, as with the periodic refresh: the recovery of a brand-new pool's records pushes
        // changes, and a read of them half-written would mark servers down.
        _protocol.Changed += () =>
        {
            if (Ready.IsCompleted)
            {
                _events.Observe(RefreshAsync(_time.GetTimestamp(), lifetime), "shared view read on a pushed change");
            }
        };

        _lastRead = _time.GetTimestamp();
        Ready = RefreshAsync(_lastRead, lifetime, firstRead: true);
        _latestRead = Ready;
    }

    /// <summary>Starts a read when a quarter of the bound has passed since the last one (not while the first still runs).</summary>
    public void RefreshIfDue(CancellationToken lifetime)
    {
        // Not while the first read is still going: it may be recovering lost records (a brand-new pool), and a refresh
        // that read them lost meanwhile would mark the servers down, to wait for a probe and a failback after the
        // recovery made them up.
        if (Ready.IsCompleted && _time.GetElapsedTime(_lastRead) >= _options.RefreshInterval)
        {
            lock (_readGate)
            {
                StartRead(lifetime, "shared view read");
            }
        }
    }

    private void StartRead(CancellationToken lifetime, string operation)
    {
        _lastRead = _time.GetTimestamp();
        _latestRead = RefreshAsync(_lastRead, lifetime);
        _events.Observe(_latestRead, operation);
    }

    /// <summary>
    /// Reads the view; servers another frontend fenced, and servers whose records were lost, are marked down here too.
    /// Lost servers are flushed (by one frontend, under the store's lock) before anyone reads them again. On the first
    /// read, a brand-new pool (no records yet) is recovered before the read counts, so a new pool does not start with
    /// every server down.
    /// </summary>
    internal async Task RefreshAsync(long startTimestamp, CancellationToken cancellationToken, bool firstRead = false)
    {
        try
        {
            await ReadAndApplyAsync(startTimestamp, firstRead, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // A store that fails with an error rather than without a quorum is out of reach all the same: operations
            // stop waiting for reads that end this way.
            _lastReadReachedQuorum = false;
            throw;
        }
    }

    private async Task ReadAndApplyAsync(long startTimestamp, bool firstRead, CancellationToken cancellationToken)
    {
        var straggler = _options.RefreshInterval / 2;
        var read = await _protocol.ReadAsync(straggler, cancellationToken).ConfigureAwait(false);
        // Bounded: rounds of recovering (or waiting for the frontend that holds the lock to) for at most twice the
        // bound (a recovery of records someone may have used waits the bound between its fence and its flush), then
        // the lost servers stay down like any other until recovered in the background. Frontends that start together
        // on a brand-new pool all find it lost; one recovers it, and the others wait for that rather than start with
        // every server down. (Callers wait for this first read at most an operation timeout.)
        // A first read that no quorum answered (a connection still being opened on a loaded machine) is tried again
        // within the same bound: a new client's first calls would otherwise fail for want of a lease until the next
        // periodic read.
        // It stops early once a round can make no more progress: a lost server that does not answer (dead at start-up)
        // cannot be flushed, and waiting for it would hold up every other server.
        var firstReadStarted = _time.GetTimestamp();
        var mayProgress = true;
        while (firstRead && mayProgress && (!read.IsQuorum || LostIndexes(read).Count > 0) && _time.GetElapsedTime(firstReadStarted) < 2 * _options.Bound)
        {
            if (read.IsQuorum)
            {
                mayProgress = await RecoverLostAsync(LostIndexes(read), cancellationToken).ConfigureAwait(false);
            }

            // The lease counts from when the read that grants it began, not from the first attempt (a recovery may
            // have taken longer than the bound itself).
            startTimestamp = _time.GetTimestamp();
            read = await _protocol.ReadAsync(straggler, cancellationToken).ConfigureAwait(false);
            if (!read.IsQuorum || LostIndexes(read).Count > 0)
            {
                await Runtime.WorkScheduler.Current.Delay(RetryPause, _time, cancellationToken).ConfigureAwait(false);
            }
        }

        if (_protocol.IsReadOnly)
        {
            // A read-only tool on a pool no frontend ever started on: nobody was told anything, nothing is fenced, and
            // it may not write the first records itself (`ballast view init` does): it reads the servers as they are.
            read = read with { Entries = [.. read.Entries.Select(e => e.IsUnknownToEveryone ? ViewEntry.Initial : e)] };
        }

        var before = Enumerable.Range(0, _servers.All.Length).Select(i => _view[i]).ToArray();
        var changed = _view.Apply(read, startTimestamp);
        _lastReadReachedQuorum = read.IsQuorum;
        foreach (var index in changed)
        {
            var entry = _view[index];
            var node = _servers.All[index];
            if (!entry.IsDown && before[index] is { Epoch: > 0, IsDown: false } known && entry.Epoch > known.Epoch && !node.Health.IsDown)
            {
                // Fenced, flushed and readmitted between two reads of this frontend, which used the server before: its
                // connections may reach the server's previous life, and a reset found on them later would fence it again.
                node.Health.ObserveEpoch(entry.Epoch);
                node.RetireConnectionsOpenedBefore(_time.GetTimestamp());
                node.ForgetServerStart();

                // Told as a readmission, since it was one: the server is empty now (a counter on it starts again), and
                // an application that seeds counters or watches readmissions must hear of it from every frontend,
                // including one that was cut off for the whole outage and never saw the server down.
                _events.ServerRecovered(node, entry.Epoch, flushedHere: false, TimeSpan.Zero);
            }

            if (entry.IsDown)
            {
                if (!entry.IsLost)
                {
                    // A lost verdict's epoch is made up: no outage of that epoch exists to readmit the server from.
                    node.Health.ObserveEpoch(entry.Epoch);
                }

                if (node.Health.MarkDown())
                {
                    _events.ServerFailed(node, ServerFailureReason.SharedView, entry.Epoch, entry.DownDetail);
                }
            }
            else
            {
                _onRecordUp(node, entry.Epoch);
            }
        }

        // A server that lost what it held while the view still has it up (a restart no reset announced): fenced like
        // any failure, so its failback gives it a new epoch, told to every frontend, before counters on it are used
        // again (they start over).
        foreach (var index in read.Emptied ?? [])
        {
            if (_view[index] is { IsDown: false } && !_servers.All[index].Health.IsDown)
            {
                _onEmptied(_servers.All[index], "its copy of its own shared-view record is gone while the others still have it up: it restarted or was flushed, and what it held (counters too) is gone");
            }
        }

        if (!firstRead && LostIndexes(read) is { Count: > 0 } lost)
        {
            _events.Observe(RecoverLostAsync(lost, cancellationToken), "recovery of lost view records");
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
            var outcome = await _protocol.RecoverLostAsync(lost, cancellationToken).ConfigureAwait(false);
            return outcome.Recovered.Count > 0 || outcome.UnderWayElsewhere;
        }
        catch (MemcachedException error)
        {
            // The next read finds them lost still and tries again.
            if (error.Server is { } server && _servers.Find(server) is { } node)
            {
                node.Errors.Absorbed(AbsorbedError.RecoveryFailed, null, error);
            }

            return false;
        }
        finally
        {
            Volatile.Write(ref _recoveringLost, 0);
        }
    }
}
