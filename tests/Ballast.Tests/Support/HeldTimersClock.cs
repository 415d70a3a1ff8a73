namespace Ballast.Tests.Support;

/// <summary>
/// The system clock, except that its timers can be held: while held, a timer that falls due runs only when the clock
/// is released. Stands for a loaded machine whose background loop wakes late (a starved thread pool, a long pause),
/// without loading the machine: time passes for real, and what waits on a timer waits.
/// </summary>
internal sealed class HeldTimersClock : TimeProvider
{
    private readonly Lock _gate = new();
    private readonly List<(TimerCallback Callback, object? State)> _late = [];
    private bool _held;

    public override long GetTimestamp() => System.GetTimestamp();

    public override long TimestampFrequency => System.TimestampFrequency;

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        => System.CreateTimer(s => Fire(callback, s), state, dueTime, period);

    /// <summary>From now on, timers that fall due wait for <see cref="Release"/>.</summary>
    public void Hold()
    {
        lock (_gate)
        {
            _held = true;
        }
    }

    /// <summary>Runs the timers that fell due while held, and lets the others run when due again.</summary>
    public void Release()
    {
        List<(TimerCallback Callback, object? State)> late;
        lock (_gate)
        {
            _held = false;
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
            if (_held)
            {
                _late.Add((callback, state));
                return;
            }
        }

        callback(state);
    }
}
