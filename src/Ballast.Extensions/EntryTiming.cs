using System.Buffers.Binary;
using Microsoft.Extensions.Caching.Distributed;

namespace Ballast.Extensions;

/// <summary>
/// The expiration of one distributed-cache entry and where it travels. The sliding window (whole seconds, 0 for none)
/// is in the entry's client flags, which every read and every touch returns, so that anything touching the entry learns
/// how to renew it without reading its value. The absolute deadline (Unix milliseconds, 0 for none) is in the last 8
/// bytes of the value, little-endian, so that a read checks it against the cache's <see cref="TimeProvider"/> to the
/// millisecond. memcached's own TTL carries the rest: the window, or the time to the deadline, rounded up.
/// </summary>
internal readonly record struct EntryTiming(uint WindowSeconds, long DeadlineUnixMilliseconds)
{
    /// <summary>Bytes of the trailer after the value.</summary>
    public const int TrailerLength = 8;

    /// <summary>The longest window the flags can carry (24 bits: 194 days); longer ones are stored as this.</summary>
    public const uint MaxWindowSeconds = 0x00FF_FFFF;

    private const uint MarkerMask = 0xFF00_0000;

    /// <summary>An entry with neither a window nor a deadline: it lives until memcached evicts it.</summary>
    public static EntryTiming Forever => default;

    public bool IsSliding => WindowSeconds > 0;

    public bool HasDeadline => DeadlineUnixMilliseconds != 0;

    /// <summary>The client flags of an entry with this window: the marker, plus the window in seconds.</summary>
    public uint Flags => BallastDistributedCache.EntryFlags | WindowSeconds;

    /// <summary>The window carried by <paramref name="flags"/>; false when the flags are not this cache's (a foreign value).</summary>
    public static bool TryReadWindow(uint flags, out uint windowSeconds)
    {
        windowSeconds = flags & ~MarkerMask;
        return (flags & MarkerMask) == BallastDistributedCache.EntryFlags;
    }

    /// <summary>The deadline in a trailer.</summary>
    public static long ReadDeadline(ReadOnlySpan<byte> trailer) => BinaryPrimitives.ReadInt64LittleEndian(trailer);

    /// <summary>Writes the deadline into a trailer.</summary>
    public void WriteTrailer(Span<byte> trailer) => BinaryPrimitives.WriteInt64LittleEndian(trailer, DeadlineUnixMilliseconds);

    /// <summary>
    /// The timing <paramref name="options"/> ask for, as of <paramref name="now"/>. A sub-second window is rounded up
    /// to one second (memcached counts TTLs in seconds); a deadline is kept to the millisecond.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The absolute expiration is not in the future (its <c>ParamName</c> names the option), or the relative or sliding expiration is not positive.</exception>
    public static EntryTiming For(string key, DistributedCacheEntryOptions options, DateTimeOffset now)
    {
        if (options.AbsoluteExpirationRelativeToNow is { } relative && relative <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(DistributedCacheEntryOptions.AbsoluteExpirationRelativeToNow), relative, $"The relative expiration value must be positive. Key '{key}': the entry was not stored.");
        }

        var deadline = options.AbsoluteExpiration ?? (options.AbsoluteExpirationRelativeToNow is { } r ? now + r : null);
        if (deadline is { } d && d <= now)
        {
            throw new ArgumentOutOfRangeException(nameof(DistributedCacheEntryOptions.AbsoluteExpiration), d, $"The absolute expiration value must be in the future. Key '{key}': the entry was not stored (now is {now:O}).");
        }

        if (options.SlidingExpiration is { } sliding && sliding <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(DistributedCacheEntryOptions.SlidingExpiration), sliding, $"The sliding expiration value must be positive. Key '{key}': the entry was not stored.");
        }

        var window = options.SlidingExpiration is { } s ? (uint)Math.Min(MaxWindowSeconds, Math.Ceiling(s.TotalSeconds)) : 0u;
        return new EntryTiming(window, deadline?.ToUnixTimeMilliseconds() ?? 0);
    }

    /// <summary>True once the deadline has passed: the entry must not be returned any more.</summary>
    public bool HasExpired(DateTimeOffset now) => HasDeadline && now.ToUnixTimeMilliseconds() >= DeadlineUnixMilliseconds;

    /// <summary>
    /// The TTL to give memcached now, by a write or a renewal: the window plus one second, since memcached's clock ticks
    /// once a second and an N-second TTL lapses between N-1 and N seconds later (so a window of N seconds lives N to N+1
    /// seconds after its last read); for an entry with a deadline, at most the time to the deadline plus that second
    /// (past the deadline reads miss anyway, by the trailer); <see cref="TimeSpan.Zero"/> (never) for an entry with
    /// neither. Never below one second, even for a deadline that has just passed: memcached reads 0 as "never".
    /// </summary>
    public TimeSpan TimeToLive(DateTimeOffset now)
    {
        long? toDeadline = HasDeadline ? Math.Max(1, CeilingSeconds(DeadlineUnixMilliseconds - now.ToUnixTimeMilliseconds()) + 1) : null;
        long? renewal = IsSliding ? WindowSeconds + 1L : null;
        return (toDeadline, renewal) switch
        {
            ({ } d, { } w) => TimeSpan.FromSeconds(Math.Min(d, w)),
            ({ } d, null) => TimeSpan.FromSeconds(d),
            (null, { } w) => TimeSpan.FromSeconds(w),
            _ => TimeSpan.Zero,
        };
    }

    /// <summary>
    /// Whether a request sent for <paramref name="expected"/> left memcached with the TTL this entry needs: the same
    /// window (a read renews with it, or does not touch), and, near a deadline, the same cap.
    /// </summary>
    public bool RenewsLike(EntryTiming expected, DateTimeOffset now)
        => WindowSeconds == expected.WindowSeconds && (!IsSliding || TimeToLive(now) == expected.TimeToLive(now));

    private static long CeilingSeconds(long milliseconds) => milliseconds <= 0 ? 0 : (milliseconds + 999) / 1000;
}
