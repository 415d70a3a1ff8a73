namespace Ballast.Failover;

/// <summary>
/// Versions for replicated values when the caller supplies none: milliseconds of wall time in the high bits and a
/// counter in the low 16, never going backwards in this process even if the wall clock does. Across frontends the
/// order is the wall clocks' order, so a write that completed before another began carries a lower version as long
/// as the clocks agree within the gap between them (NTP-synchronised hosts do, by far, for human-paced writes).
/// </summary>
internal sealed class HybridLogicalClock
{
    private readonly TimeProvider _time;
    private long _last;

    public HybridLogicalClock(TimeProvider time) => _time = time;

    public long Next()
    {
        var physical = _time.GetUtcNow().ToUnixTimeMilliseconds() << 16;
        while (true)
        {
            var last = Volatile.Read(ref _last);
            var next = Math.Max(physical, last + 1);
            if (Interlocked.CompareExchange(ref _last, next, last) == last)
            {
                return next;
            }
        }
    }
}
