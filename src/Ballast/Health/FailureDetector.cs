namespace Ballast.Health;

/// <summary>
/// One frontend's own judgement of one server: up until <see cref="FailureDetectionOptions.ConsecutiveTimeouts"/>
/// timeouts in a row, or at once on a refused or reset connection; then down, with probes on a backoff schedule
/// with jitter. The shared view and failback build on it; this class only counts and schedules.
/// </summary>
internal sealed class FailureDetector
{
    private readonly FailureDetectionOptions _options;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly Queue<long> _recentOutages = new();
    private int _consecutiveTimeouts;
    private bool _down;
    private long _downSince;
    private long _nextProbe;
    private TimeSpan _probeDelay;

    public FailureDetector(FailureDetectionOptions options, TimeProvider time)
    {
        _options = options;
        _time = time;
    }

    /// <summary>True while this frontend holds the server down.</summary>
    public bool IsDown => Volatile.Read(ref _down);

    /// <summary>When the current outage began (a <see cref="TimeProvider"/> timestamp), or 0.</summary>
    public long DownSince => Volatile.Read(ref _downSince);

    /// <summary>A response arrived: the run of timeouts is broken.</summary>
    public void RecordSuccess()
    {
        if (Volatile.Read(ref _consecutiveTimeouts) != 0)
        {
            Volatile.Write(ref _consecutiveTimeouts, 0);
        }
    }

    /// <summary>A request timed out. True when this timeout marks the server down.</summary>
    public bool RecordTimeout()
    {
        var count = Interlocked.Increment(ref _consecutiveTimeouts);
        return count >= _options.ConsecutiveTimeouts && MarkDown();
    }

    /// <summary>Marks the server down now. True when it was up until this call.</summary>
    public bool MarkDown()
    {
        lock (_lock)
        {
            if (_down)
            {
                return false;
            }

            var now = _time.GetTimestamp();
            _down = true;
            _downSince = now;
            _probeDelay = _options.ProbeInterval;
            _nextProbe = now + ToTicks(WithJitter(_probeDelay));
            _recentOutages.Enqueue(now);
            return true;
        }
    }

    /// <summary>Readmits the server: up again, with a clean run of timeouts.</summary>
    public void MarkUp()
    {
        lock (_lock)
        {
            _down = false;
            _downSince = 0;
            Volatile.Write(ref _consecutiveTimeouts, 0);
        }
    }

    /// <summary>True when the server is down and its next probe is due.</summary>
    public bool IsProbeDue()
    {
        lock (_lock)
        {
            return _down && _time.GetTimestamp() >= _nextProbe;
        }
    }

    /// <summary>A probe failed: wait longer before the next one (times the backoff multiplier, capped, with jitter).</summary>
    public void ProbeFailed()
    {
        lock (_lock)
        {
            var next = TimeSpan.FromTicks((long)(_probeDelay.Ticks * _options.ProbeBackoffMultiplier));
            _probeDelay = next > _options.MaxProbeInterval ? _options.MaxProbeInterval : next;
            _nextProbe = _time.GetTimestamp() + ToTicks(WithJitter(_probeDelay));
        }
    }

    /// <summary>Outages (down transitions) seen within <paramref name="window"/>, this one included.</summary>
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

    private TimeSpan WithJitter(TimeSpan delay)
        => delay + TimeSpan.FromTicks((long)(delay.Ticks * _options.ProbeJitter * Random.Shared.NextDouble()));

    private long ToTicks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);
}
