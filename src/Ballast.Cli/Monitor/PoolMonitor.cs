namespace Ballast.Cli.Monitor;

/// <summary>
/// The monitor's frontend and what it has seen: a <see cref="MemcachedClient"/> that carries no data traffic (its
/// background loop reads the shared view, probes down servers, publishes fences and runs the coordinated failback),
/// each server's state with when it began, its last failure, the flushes this monitor made (failback, lost records, a new pool), its latest
/// <c>stats</c>, and a bounded timeline of events. The one owner of that state: the stats poller and the client's
/// events write it through the methods below, under one lock; the endpoints read immutable snapshots.
/// </summary>
internal sealed class PoolMonitor : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly TrackedServer[] _servers;
    private readonly LinkedList<MonitorEvent> _events = new();
    private readonly int _eventCapacity;
    private readonly string _store;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _eventLock = new();
    private StatusEvent? _event;
    private long _serializations;

    public PoolMonitor(MemcachedClient client, string store, TimeProvider time, int eventCapacity = 200)
    {
        Client = client;
        _store = store;
        _time = time;
        _eventCapacity = eventCapacity;
        StartedAt = time.GetUtcNow();
        _servers = client.Servers.Select(s => new TrackedServer(s, StateOf(s), StartedAt)).ToArray();
        client.ServerFailed += (_, e) => OnFailed(e);
        client.ServerRecovered += (_, e) => OnRecovered(e);
        client.ServerFlushed += (_, e) => OnFlushed(e);
    }

    /// <summary>The monitor's frontend: one client, no data traffic.</summary>
    public MemcachedClient Client { get; }

    public DateTimeOffset StartedAt { get; }

    public IReadOnlyList<ServerEndPoint> Servers => Client.Servers;

    /// <summary>
    /// Completes at the next change of anything the status shows (a state, an event, fresh stats). Callers take the
    /// task, then the snapshot, then await the task: a change in between completes the task they hold.
    /// </summary>
    public Task NextChange
    {
        get
        {
            lock (_lock)
            {
                return _changed.Task;
            }
        }
    }

    /// <summary>
    /// The status as one server-sent event, with the change it is current until: serialized once per change, however
    /// many event streams are open (each used to serialize its own copy every second).
    /// </summary>
    public StatusEvent CurrentEvent()
    {
        var next = NextChange;
        lock (_eventLock)
        {
            if (_event is { } cached && cached.NextChange == next)
            {
                return cached;
            }

            _serializations++;
            var json = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(Snapshot(), MonitorHost.Json);
            _event = new StatusEvent([.. "event: status\ndata: "u8, .. json, .. "\n\n"u8], next);
            return _event;
        }
    }

    /// <summary>How many times the status was serialized for the event streams (tests compare it with the number of streams).</summary>
    internal long StatusSerializations
    {
        get
        {
            lock (_eventLock)
            {
                return _serializations;
            }
        }
    }

    /// <summary>True when the server answers requests here (up, or reachable and waiting for readmission): its stats are worth asking for.</summary>
    public bool IsReachable(ServerEndPoint server) => Client.GetServerState(server) is ServerState.Up or ServerState.Recovering;

    /// <summary>Records a server's stats (or why they could not be read).</summary>
    public void RecordStats(ServerStatistics statistics)
    {
        var server = Find(statistics.Server);
        lock (_lock)
        {
            if (statistics.Values is { } values)
            {
                server.Stats = ServerStats.From(values, _time.GetUtcNow());
                server.StatsError = null;
            }
            else
            {
                server.StatsError = statistics.Error;
            }
        }

        SignalChange();
    }

    /// <summary>
    /// Looks at every server's state: probing and recovering raise no event, and an event arrives on a worker after
    /// the state changed. Signals a change when any state moved.
    /// </summary>
    public void Refresh()
    {
        var now = _time.GetUtcNow();
        var moved = false;
        lock (_lock)
        {
            foreach (var server in _servers)
            {
                moved |= server.MoveTo(StateOf(server.EndPoint), now);
            }
        }

        if (moved)
        {
            SignalChange();
        }
    }

    /// <summary>Signals a change without one in the data (the view's age moves on): the page's clock ticks with it.</summary>
    public void SignalChange()
    {
        TaskCompletionSource changed;
        lock (_lock)
        {
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    /// <summary>An immutable snapshot of everything the status shows.</summary>
    public MonitorStatus Snapshot()
    {
        var now = _time.GetUtcNow();
        var age = Client.SharedViewAge;
        var bound = Client.SharedViewBound;
        var view = new ViewStatus(
            Client.SharedViewEnabled,
            _store,
            Client.PoolName,
            Client.FrontendId,
            Client.IsSharedViewFresh,
            age?.TotalMilliseconds,
            bound.TotalMilliseconds);
        lock (_lock)
        {
            var servers = _servers.Select(s =>
            {
                var record = Client.ViewRecordOf(s.EndPoint);
                var changedAt = record.ChangedAtUnixMs > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(record.ChangedAtUnixMs) : (DateTimeOffset?)null;
                return new ServerStatus(
                    s.EndPoint.ToString(),
                    s.State,
                    record.Epoch,
                    s.Since,
                    s.Reason,
                    s.Detail,
                    s.LastFailure,
                    s.Flushes,
                    new ViewRecord(record.IsDown, record.Writer, changedAt),
                    s.Stats,
                    s.StatsError);
            }).ToArray();
            return new MonitorStatus(servers, view, [.. _events], StartedAt, now);
        }
    }

    public ValueTask DisposeAsync() => Client.DisposeAsync();

    private void OnFailed(ServerFailedEventArgs e)
    {
        var server = Find(e.Server);
        lock (_lock)
        {
            server.Reason = e.Reason.ToString();
            server.Detail = e.Detail;
            server.LastFailure = e.Time;
            server.MoveTo(StateOf(e.Server), e.Time);
            Add(new MonitorEvent(e.Time, e.Server.ToString(), "failed", e.Epoch, e.Reason.ToString(), e.Detail, false, null));
        }

        SignalChange();
    }

    /// <summary>
    /// A readmission: one this monitor's failback or probe made (with how long it had the server down), or one it only
    /// found in the shared view (downtime zero: it never had the server down, so no downtime is shown).
    /// </summary>
    internal void OnRecovered(ServerRecoveredEventArgs e)
    {
        var server = Find(e.Server);
        lock (_lock)
        {
            server.MoveTo(StateOf(e.Server), e.Time);
            var detail = e.FlushedByThisFrontend ? "flushed by this monitor" : FlushedBy(e);
            Add(new MonitorEvent(e.Time, e.Server.ToString(), "recovered", e.Epoch, null, detail, e.FlushedByThisFrontend, e.Downtime > TimeSpan.Zero ? e.Downtime.TotalMilliseconds : null));
        }

        SignalChange();
    }

    /// <summary>Every flush this monitor made, whatever its reason (failback, a lost record, a brand-new pool): counted and shown.</summary>
    private void OnFlushed(ServerFlushedEventArgs e)
    {
        var server = Find(e.Server);
        lock (_lock)
        {
            server.Flushes++;
            var detail = e.Reason switch
            {
                ServerFlushReason.Failback => "flushed by this monitor for its failback",
                ServerFlushReason.LostRecord => "flushed by this monitor: its shared-view record was lost",
                ServerFlushReason.NewPool => "flushed by this monitor: the pool had no shared view yet (run `ballast view init` to adopt a warm pool without flushing)",
                _ => $"flushed by this monitor ({e.Reason})",
            };
            Add(new MonitorEvent(e.Time, e.Server.ToString(), "flushed", e.Epoch, e.Reason.ToString(), detail, true, null));
        }

        SignalChange();
    }

    /// <summary>
    /// Who flushed a server this monitor readmitted without running its failback: the writer of the "up" record, when
    /// the record is still that readmission's. This monitor writes it too when it recovered lost records (a
    /// brand-new pool's first start, or records a flush or restart erased), which is no failback.
    /// </summary>
    private string FlushedBy(ServerRecoveredEventArgs e)
    {
        var record = Client.ViewRecordOf(e.Server);
        if (record.Epoch != e.Epoch)
        {
            return "flushed by another frontend";
        }

        return record.Writer == Client.FrontendId ? "flushed by this monitor, recovering lost view records" : $"flushed by frontend {record.Writer}";
    }

    private void Add(MonitorEvent entry)
    {
        _events.AddFirst(entry);
        while (_events.Count > _eventCapacity)
        {
            _events.RemoveLast();
        }
    }

    private TrackedServer Find(ServerEndPoint endPoint)
        => _servers.First(s => s.EndPoint == endPoint || s.EndPoint.ToString() == endPoint.ToString());

    /// <summary>
    /// The state shown for a server: the client's, except "unknown" for a server the client holds up before its first
    /// quorum read of the shared view. Until then the client knows of no fence (and reads nothing), so "up" would be
    /// a guess; a server it found refusing or timing out is down whatever the view says.
    /// </summary>
    private string StateOf(ServerEndPoint server)
    {
        var state = Client.GetServerState(server);
        return state == ServerState.Up && Client.SharedViewEnabled && Client.SharedViewAge is null ? "unknown" : StateName(state);
    }

    /// <summary>The lower-case state names of the JSON and the page.</summary>
    public static string StateName(ServerState state) => state switch
    {
        ServerState.Up => "up",
        ServerState.Down => "down",
        ServerState.Probing => "probing",
        ServerState.Recovering => "recovering",
        _ => state.ToString().ToLowerInvariant(),
    };

    /// <summary>What the monitor keeps per server; changed only under the monitor's lock.</summary>
    private sealed class TrackedServer(ServerEndPoint endPoint, string state, DateTimeOffset since)
    {
        public ServerEndPoint EndPoint { get; } = endPoint;

        public string State { get; private set; } = state;

        public DateTimeOffset Since { get; private set; } = since;

        public string? Reason { get; set; }

        public string? Detail { get; set; }

        public DateTimeOffset? LastFailure { get; set; }

        public int Flushes { get; set; }

        public ServerStats? Stats { get; set; }

        public string? StatsError { get; set; }

        /// <summary>
        /// Moves to <paramref name="state"/>; true when it changed. Down, probing and recovering are one outage: its
        /// "since" is when it began, not the latest probe.
        /// </summary>
        public bool MoveTo(string state, DateTimeOffset now)
        {
            if (state == State)
            {
                return false;
            }

            if ((State == "up") != (state == "up"))
            {
                Since = now;
            }

            State = state;
            return true;
        }
    }
}
