using System.Buffers.Binary;

namespace Ballast.Extensions;

/// <summary>
/// The expiration of one distributed-cache entry, kept in the last 8 bytes of its value (sliding window in seconds,
/// then the absolute deadline in Unix seconds, 0 for none; little-endian), so that any application instance that reads
/// the entry knows how to renew it. memcached's own TTL carries the rest: it is the window (capped by the deadline).
/// </summary>
internal readonly record struct EntryTiming(uint WindowSeconds, uint DeadlineUnixSeconds)
{
    public const int Length = 8;

    public bool IsSliding => WindowSeconds > 0;

    public static EntryTiming Read(ReadOnlySpan<byte> trailer)
        => new(BinaryPrimitives.ReadUInt32LittleEndian(trailer), BinaryPrimitives.ReadUInt32LittleEndian(trailer[4..]));

    public void Write(Span<byte> trailer)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(trailer, WindowSeconds);
        BinaryPrimitives.WriteUInt32LittleEndian(trailer[4..], DeadlineUnixSeconds);
    }

    /// <summary>
    /// The TTL to give memcached now: the window, capped by the deadline; for a fixed entry, the time to its deadline
    /// (<see cref="TimeSpan.Zero"/> means "never expires"). Null when the deadline has passed.
    /// </summary>
    public TimeSpan? TimeToLive(DateTimeOffset now)
    {
        TimeSpan? toDeadline = DeadlineUnixSeconds == 0 ? null : TimeSpan.FromSeconds(DeadlineUnixSeconds - now.ToUnixTimeSeconds());
        if (toDeadline is { } left && left <= TimeSpan.Zero)
        {
            return null;
        }

        if (!IsSliding)
        {
            return toDeadline ?? TimeSpan.Zero;
        }

        var window = TimeSpan.FromSeconds(WindowSeconds);
        return toDeadline is { } cap && cap < window ? cap : window;
    }
}
