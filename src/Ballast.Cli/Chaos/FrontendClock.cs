namespace Ballast.Cli.Chaos;

/// <summary>
/// One chaos frontend's clock: the system clock, except that during a <see cref="FaultKind.Stall"/> its timers are
/// held and fire when the stall ends. What a client waits for on a timer (its background loop's tick, and so its
/// periodic view read, its probes and retries; its timeouts and delays) runs late, as on a host whose thread pool is
/// starved or whose process sat in a long pause; requests still go out and their answers come back.
/// </summary>
public sealed class FrontendClock : TimeProvider
{
    private readonly Lock _gate = new();
    private readonly List<(TimerCallback Callback, object? State)> _late = [];
    private bool _stalled;

    /// <inheritdoc />
    public override long GetTimestamp() => System.GetTimestamp();

    /// <inheritdoc />
    public override long TimestampFrequency => System.TimestampFrequency;

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow() => System.GetUtcNow();

    /// <inheritdoc />
    public override TimeZoneInfo LocalTimeZone => System.LocalTimeZone;

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        return System.CreateTimer(s => Fire(callback, s), state, dueTime, period);
    }

    /// <summary>From now on, timers that fall due wait for <see cref="Resume"/>.</summary>
    public void Stall()
    {
        lock (_gate)
        {
            _stalled = true;
        }
    }

    /// <summary>Fires the timers that fell due during the stall, in the order they fell due, and lets the others run on time.</summary>
    public void Resume()
    {
        List<(TimerCallback Callback, object? State)> late;
        lock (_gate)
        {
            _stalled = false;
            late = [.. _late];
            _late.Clear();
        }

        foreach (var (callback, state) in late)
        {
            callback(state);
        }
    }

    private void Fire(TimerCallback callback, object? state)
    {
        lock (_gate)
        {
            if (_stalled)
            {
                _late.Add((callback, state));
                return;
            }
        }

        callback(state);
    }
}
