namespace Ballast.Health;

/// <summary>
/// One server's whole health as this frontend knows it: the only place that state lives, changed only through the
/// named transitions below, each under one lock (the shape of Polly's circuit state controller).
/// </summary>
/// <remarks>
/// <code>
///            timeout                 timeouts ≥ threshold, reset, refused, fence (any state)
///   Up ───────────────► Suspect ─────────────────────────────────────────────► Down(epoch)
///   ▲  ◄─── success ───                                                          │  ▲
///   │                                                             probe is due  ▼  │ probe failed (backoff)
///   │                                                                        Probing
///   │                                                            probe answered │
///   └──────────── readmit (after the failback flush) ──────── Recovering ◄────────┘
///                                                            (contact lost: back to Down)
/// </code>
/// The epoch is the shared-view epoch of the outage this frontend last saw or published; it only grows. A fence this
/// frontend owes the shared view (published to no quorum yet) is remembered here too, as is whether a maintenance
/// step is running for the server, so the background loop never runs two steps for one server at once.
/// Readers on the hot path (<see cref="IsDown"/>) read one volatile field and take no lock.
/// </remarks>
internal sealed class ServerHealth
{
    private readonly FailureDetectionOptions _options;
    private readonly TimeProvider _time;
    private readonly Random _jitter;
    private readonly Lock _lock = new();
    private readonly Queue<long> _recentOutages = new();
    private int _state;
    private int _consecutiveTimeouts;
    private long _downSince;
    private long _nextProbe;
    private TimeSpan _probeDelay;
    private long _epoch;
    private bool _fenceOwed;
    private int _stepRunning;
    private long _lockLostEpoch = -1;
    private long _flushedHereFor = -1;
    private long _lockRetryAt;

    /// <param name="options">Thresholds and probe intervals.</param>
    /// <param name="time">The clock.</param>
    /// <param name="jitter">The generator for probe jitter; <see cref="Random.Shared"/> when null.</param>
    public ServerHealth(FailureDetectionOptions options, TimeProvider time, Random? jitter = null)
    {
        _options = options;
        _time = time;
        _jitter = jitter ?? Random.Shared;
    }

    /// <summary>The current state.</summary>
    public HealthState State => (HealthState)Volatile.Read(ref _state);

    /// <summary>True while this frontend holds the server down (Down, Probing or Recovering): requests fail fast.</summary>
    public bool IsDown => Volatile.Read(ref _state) is not ((int)HealthState.Up or (int)HealthState.Suspect);

    /// <summary>True when requests can be sent: up (or suspect), or reachable again while waiting for readmission.</summary>
    public bool CanSend => Volatile.Read(ref _state) is (int)HealthState.Up or (int)HealthState.Suspect or (int)HealthState.Recovering;

    /// <summary>When the current outage began (a <see cref="TimeProvider"/> timestamp), or 0 while up.</summary>
    public long DownSince => Volatile.Read(ref _downSince);

    /// <summary>The shared-view epoch of the latest outage this frontend saw or published for the server.</summary>
    public long Epoch => Volatile.Read(ref _epoch);

    /// <summary>True while this frontend owes the shared view a fence that no write quorum holds yet.</summary>
    public bool FenceOwed
    {
        get
        {
            lock (_lock)
            {
                return _fenceOwed;
            }
        }
    }

    /// <summary>A response arrived: a run of timeouts is broken (Suspect → Up).</summary>
    public void RecordSuccess()
    {
        if (Volatile.Read(ref _consecutiveTimeouts) == 0)
        {
            return;
        }

        lock (_lock)
        {
            _consecutiveTimeouts = 0;
            if (_state == (int)HealthState.Suspect)
            {
                SetState(HealthState.Up);
            }
        }
    }

    /// <summary>A request timed out (Up → Suspect, or → Down at the threshold). True when this timeout marks the server down.</summary>
    public bool RecordTimeout()
    {
        lock (_lock)
        {
            if (IsDownLocked)
            {
                return false;
            }

            _consecutiveTimeouts++;
            if (_consecutiveTimeouts < _options.ConsecutiveTimeouts)
            {
                SetState(HealthState.Suspect);
                return false;
            }

            EnterDownLocked();
            return true;
        }
    }

    /// <summary>Marks the server down now (reset, refused, a fence from anywhere). True when it was up until this call.</summary>
    public bool MarkDown()
    {
        lock (_lock)
        {
            if (IsDownLocked)
            {
                // A fence while it is being readmitted: it is no longer known to be reachable and clean.
                if (_state == (int)HealthState.Recovering)
                {
                    SetState(HealthState.Down);
                }

                return false;
            }

            EnterDownLocked();
            return true;
        }
    }

    /// <summary>Records the epoch of an outage seen in the shared view or published here; epochs only grow.</summary>
    public void ObserveEpoch(long epoch)
    {
        lock (_lock)
        {
            if (epoch > _epoch)
            {
                _epoch = epoch;
            }
        }
    }

    /// <summary>
    /// The shared view readmitted the server at <paramref name="epoch"/>, after the flush of a later outage than any
    /// this frontend saw: a fence still owed for an earlier outage is answered by that flush (the caller has checked
    /// that no invalidation of this frontend waits on the server).
    /// </summary>
    public void ObserveReadmission(long epoch)
    {
        lock (_lock)
        {
            if (epoch > _epoch)
            {
                _epoch = epoch;
                _fenceOwed = false;
            }
        }
    }

    /// <summary>A fence of <paramref name="epoch"/> is owed to the shared view until <see cref="FencePublished"/>.</summary>
    public void OweFence(long epoch)
    {
        lock (_lock)
        {
            if (epoch > _epoch)
            {
                _epoch = epoch;
            }

            _fenceOwed = true;
        }
    }

    /// <summary>A write quorum holds the fence this frontend owed.</summary>
    public void FencePublished()
    {
        lock (_lock)
        {
            _fenceOwed = false;
        }
    }

    /// <summary>True when the server is down, not being probed, and its next probe is due.</summary>
    public bool IsProbeDue()
    {
        lock (_lock)
        {
            return _state == (int)HealthState.Down && _time.GetTimestamp() >= _nextProbe;
        }
    }

    /// <summary>Down → Probing when a probe is due. False when none is (or the server is not down).</summary>
    public bool TryStartProbe()
    {
        lock (_lock)
        {
            if (_state != (int)HealthState.Down || _time.GetTimestamp() < _nextProbe)
            {
                return false;
            }

            SetState(HealthState.Probing);
            return true;
        }
    }

    /// <summary>Probing → Recovering: the server answered and waits for the failback.</summary>
    public void ProbeSucceeded()
    {
        lock (_lock)
        {
            if (_state == (int)HealthState.Probing)
            {
                SetState(HealthState.Recovering);
            }
        }
    }

    /// <summary>Probing → Down, with the next probe later by the backoff multiplier (capped, with jitter).</summary>
    public void ProbeFailed()
    {
        lock (_lock)
        {
            if (_state == (int)HealthState.Probing)
            {
                SetState(HealthState.Down);
            }

            var next = TimeSpan.FromTicks((long)(_probeDelay.Ticks * _options.ProbeBackoffMultiplier));
            _probeDelay = next > _options.MaxProbeInterval ? _options.MaxProbeInterval : next;
            _nextProbe = _time.GetTimestamp() + ToTicks(WithJitter(_probeDelay));
        }
    }

    /// <summary>Recovering → Down: the server stopped answering during the failback; it is probed again first.</summary>
    public void ContactLost()
    {
        lock (_lock)
        {
            if (_state == (int)HealthState.Recovering)
            {
                SetState(HealthState.Down);
            }
        }
    }

    /// <summary>
    /// Readmits the server after the failback (any down state → Up), with a clean run of timeouts. True when it was
    /// down until this call (the recovery event is raised once).
    /// </summary>
    public bool Readmit()
    {
        lock (_lock)
        {
            var wasDown = IsDownLocked;
            SetState(HealthState.Up);
            _downSince = 0;
            _consecutiveTimeouts = 0;
            return wasDown;
        }
    }

    /// <summary>Outages (down transitions) within <paramref name="window"/>, the current one included.</summary>
    public int OutagesWithin(TimeSpan window)
    {
        lock (_lock)
        {
            while (_recentOutages.Count > 0 && _time.GetElapsedTime(_recentOutages.Peek()) > window)
            {
                _recentOutages.Dequeue();
            }

            return _recentOutages.Count;
        }
    }

    /// <summary>
    /// Another frontend holds the failback lock of <paramref name="epoch"/>: this one does not try again for that epoch
    /// until the lock's time to live has passed. Retrying at once is what let a second frontend flush: the winner's
    /// <c>flush_all</c> wipes the lock until it puts it back, and an <c>add</c> landing in between takes it again.
    /// </summary>
    public void FailbackLockHeldElsewhere(long epoch, TimeSpan lockTimeToLive)
    {
        lock (_lock)
        {
            _lockLostEpoch = epoch;
            _lockRetryAt = _time.GetTimestamp() + ToTicks(lockTimeToLive);
        }
    }

    /// <summary>False while another frontend is known to hold the failback lock of <paramref name="epoch"/>.</summary>
    public bool MayTakeFailbackLock(long epoch)
    {
        lock (_lock)
        {
            return epoch != _lockLostEpoch || _time.GetTimestamp() >= _lockRetryAt;
        }
    }

    /// <summary>This frontend flushed the server for the readmission at <paramref name="epoch"/> (a lost-record recovery it ran).</summary>
    public void FlushedHereFor(long epoch) => Volatile.Write(ref _flushedHereFor, epoch);

    /// <summary>True when this frontend flushed the server for the readmission at <paramref name="epoch"/>.</summary>
    public bool WasFlushedHereFor(long epoch) => Volatile.Read(ref _flushedHereFor) == epoch;

    /// <summary>Claims the server for one maintenance step; false while another step runs.</summary>
    public bool TryBeginStep() => Interlocked.CompareExchange(ref _stepRunning, 1, 0) == 0;

    /// <summary>Ends the step <see cref="TryBeginStep"/> claimed.</summary>
    public void EndStep() => Volatile.Write(ref _stepRunning, 0);

    private bool IsDownLocked => _state is not ((int)HealthState.Up or (int)HealthState.Suspect);

    private void EnterDownLocked()
    {
        var now = _time.GetTimestamp();
        SetState(HealthState.Down);
        _downSince = now;
        _consecutiveTimeouts = 0;
        _probeDelay = _options.ProbeInterval;
        _nextProbe = now + ToTicks(WithJitter(_probeDelay));
        _recentOutages.Enqueue(now);
    }

    private void SetState(HealthState state) => Volatile.Write(ref _state, (int)state);

    private TimeSpan WithJitter(TimeSpan delay)
        => delay + TimeSpan.FromTicks((long)(delay.Ticks * _options.ProbeJitter * _jitter.NextDouble()));

    private long ToTicks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);
}
