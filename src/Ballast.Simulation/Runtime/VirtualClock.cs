namespace Ballast.Simulation.Runtime;

/// <summary>
/// The simulated world's clock, as the <see cref="TimeProvider"/> every frontend is built with: timestamps are the
/// loop's virtual time (ticks of 100 ns), wall-clock time is a fixed epoch plus it, and timers are work the loop runs
/// at their due time. Nothing here reads a real clock.
/// </summary>
internal sealed class VirtualClock : TimeProvider
{
    /// <summary>The wall-clock time at which every simulated world begins.</summary>
    public static readonly DateTimeOffset Epoch = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly SimulationLoop _loop;

    public VirtualClock(SimulationLoop loop) => _loop = loop;

    public SimulationLoop Loop => _loop;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    public override long GetTimestamp()
    {
        _loop.CheckThread("TimeProvider.GetTimestamp");
        return _loop.Now;
    }

    public override DateTimeOffset GetUtcNow()
    {
        _loop.CheckThread("TimeProvider.GetUtcNow");
        return Epoch.AddTicks(_loop.Now);
    }

    /// <summary>The wall clock at virtual time <paramref name="ticks"/>, in whole Unix seconds.</summary>
    public static long UnixSecondsAt(long ticks) => Epoch.AddTicks(ticks).ToUnixTimeSeconds();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        _loop.CheckThread("TimeProvider.CreateTimer");
        var timer = new SimulatedTimer(_loop, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>A timer of the virtual clock: each arming schedules one piece of work; re-arming or disposing voids it.</summary>
    private sealed class SimulatedTimer(SimulationLoop loop, TimerCallback callback, object? state) : ITimer
    {

        private long _generation;
        private TimeSpan _period;
        private bool _disposed;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            loop.CheckThread("ITimer.Change");
            if (_disposed)
            {
                return false;
            }

            var generation = ++_generation;
            _period = period;
            if (dueTime != Timeout.InfiniteTimeSpan)
            {
                Arm(dueTime, generation);
            }

            return true;
        }

        public void Dispose()
        {
            _disposed = true;
            _generation++;
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }

        private void Arm(TimeSpan due, long generation)
            => loop.At(loop.Now + Math.Max(0, due.Ticks), static s => s.Timer.Fire(s.Generation), (Timer: this, Generation: generation), "timer");

        private void Fire(long generation)
        {
            if (generation != _generation || _disposed)
            {
                return;
            }

            if (_period != Timeout.InfiniteTimeSpan && _period > TimeSpan.Zero)
            {
                Arm(_period, generation);
            }

            callback(state);
        }
    }
}
