using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Caching.Distributed;

namespace Ballast.Extensions;

/// <summary>
/// <see cref="IDistributedCache"/> and <see cref="IBufferDistributedCache"/> over memcached, for session state,
/// output caching, HybridCache and FusionCache. Reads of a down, stalled or fenced server are misses, and
/// <see cref="RemoveAsync"/> is a Ballast delete: confirmed, or its server fenced, before it returns.
/// </summary>
/// <remarks>
/// <para>Expiration: absolute (<see cref="DistributedCacheEntryOptions.AbsoluteExpiration"/> or relative to now) is
/// memcached's own TTL. Sliding expiration renews the TTL on each read in the same request as the read (meta
/// <c>mg ... T</c>): the entry's window and deadline travel in an 8-byte trailer of its value, and an instance learns
/// them when it writes or first reads the entry (that first read by another instance renews with a second request).
/// The TTL never passes the absolute deadline. memcached counts TTLs in whole seconds.</para>
/// <para>Entries are marked with client flags <see cref="EntryFlags"/>; a value stored under the same key by anything
/// else reads as a miss.</para>
/// </remarks>
public sealed class BallastDistributedCache : IBufferDistributedCache
{
    /// <summary>The client flags of every entry this cache writes ("BA11A570").</summary>
    public const uint EntryFlags = 0xBA11A570;

    // Windows learned from writes and reads, so that a read knows the TTL to renew in its own request. Bounded: past
    // the limit it is cleared, which costs each sliding key one two-request read to learn again.
    private const int MaxLearnedWindows = 100_000;

    private readonly IMemcachedClient _client;
    private readonly TimeProvider _time;
    private readonly string _prefix;
    private readonly ConcurrentDictionary<string, EntryTiming> _windows = new(StringComparer.Ordinal);

    /// <summary>Creates the cache over <paramref name="client"/>.</summary>
    /// <param name="client">The client; the cache does not dispose it.</param>
    /// <param name="options">Key prefix and client name.</param>
    /// <param name="timeProvider">The clock for absolute expiration. Default <see cref="TimeProvider.System"/>.</param>
    public BallastDistributedCache(IMemcachedClient client, BallastDistributedCacheOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        _client = client;
        _prefix = options.KeyPrefix ?? string.Empty;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <inheritdoc />
    public byte[]? Get(string key) => GetAsync(key).GetAwaiter().GetResult();

    /// <inheritdoc />
    public async Task<byte[]?> GetAsync(string key, CancellationToken token = default)
    {
        var stored = await ReadAsync(MapKey(key), token).ConfigureAwait(false);
        return stored?[..^EntryTiming.Length];
    }

    /// <inheritdoc />
    public bool TryGet(string key, IBufferWriter<byte> destination) => TryGetAsync(key, destination).AsTask().GetAwaiter().GetResult();

    /// <inheritdoc />
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<bool> TryGetAsync(string key, IBufferWriter<byte> destination, CancellationToken token = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var mapped = MapKey(key);
        if (_windows.TryGetValue(mapped, out var known) && known.IsSliding)
        {
            // Sliding: renew in the read's own request, which only the array read can do.
            var stored = await ReadAsync(mapped, token).ConfigureAwait(false);
            if (stored is null)
            {
                return false;
            }

            destination.Write(stored.AsSpan(0, stored.Length - EntryTiming.Length));
            return true;
        }

        var writer = TrailerStrippingWriter.Rent(destination);
        try
        {
            BufferedGetResult read;
            try
            {
                read = await _client.GetAsync(mapped, writer, token).ConfigureAwait(false);
            }
            catch (MemcachedException) when (writer.Timing is null)
            {
                // A value shorter than the trailer: not one of this cache's entries.
                return false;
            }

            if (!read.IsHit || read.Flags != EntryFlags || writer.Timing is not { } timing)
            {
                return false;
            }

            await ReconcileAsync(mapped, timing, renewedWith: null, token).ConfigureAwait(false);
            return true;
        }
        finally
        {
            TrailerStrippingWriter.Return(writer);
        }
    }

    /// <inheritdoc />
    public void Set(string key, byte[] value, DistributedCacheEntryOptions options) => SetAsync(key, value, options).GetAwaiter().GetResult();

    /// <inheritdoc />
    public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default)
    {
        ArgumentNullException.ThrowIfNull(value);
        return WriteAsync(key, new ReadOnlySequence<byte>(value), options, token).AsTask();
    }

    /// <inheritdoc />
    public void Set(string key, ReadOnlySequence<byte> value, DistributedCacheEntryOptions options) => WriteAsync(key, value, options, default).AsTask().GetAwaiter().GetResult();

    /// <inheritdoc />
    public ValueTask SetAsync(string key, ReadOnlySequence<byte> value, DistributedCacheEntryOptions options, CancellationToken token = default)
        => WriteAsync(key, value, options, token);

    /// <inheritdoc />
    public void Refresh(string key) => RefreshAsync(key).GetAwaiter().GetResult();

    /// <inheritdoc />
    public async Task RefreshAsync(string key, CancellationToken token = default) => await ReadAsync(MapKey(key), token).ConfigureAwait(false);

    /// <inheritdoc />
    public void Remove(string key) => RemoveAsync(key).GetAwaiter().GetResult();

    /// <summary>Deletes the entry: confirmed, or its server fenced for every frontend, before this returns.</summary>
    /// <param name="key">The key.</param>
    /// <param name="token">Cancels the wait.</param>
    /// <exception cref="ServerUnavailableException">Neither could be done (no quorum for the shared view); Ballast's journal keeps retrying.</exception>
    public async Task RemoveAsync(string key, CancellationToken token = default)
    {
        var mapped = MapKey(key);
        _windows.TryRemove(mapped, out _);
        await _client.DeleteAsync(mapped, token).ConfigureAwait(false);
    }

    /// <summary>Reads an entry (value and trailer), renewing a sliding one; null on a miss or a foreign value.</summary>
    private async ValueTask<byte[]?> ReadAsync(string mapped, CancellationToken token)
    {
        TimeSpan? renewedWith = null;
        GetResult read;
        if (_windows.TryGetValue(mapped, out var known) && known.IsSliding)
        {
            if (known.TimeToLive(_time.GetUtcNow()) is not { } ttl)
            {
                _windows.TryRemove(mapped, out _);
                return null;
            }

            renewedWith = ttl;
            read = await _client.GetAndTouchAsync(mapped, ttl, token).ConfigureAwait(false);
        }
        else
        {
            read = await _client.GetAsync(mapped, token).ConfigureAwait(false);
        }

        if (read.Value is not { Length: >= EntryTiming.Length } value || read.Flags != EntryFlags)
        {
            _windows.TryRemove(mapped, out _);
            return null;
        }

        await ReconcileAsync(mapped, EntryTiming.Read(value.AsSpan(value.Length - EntryTiming.Length)), renewedWith, token).ConfigureAwait(false);
        return value;
    }

    /// <summary>
    /// After a read: learns (or forgets) the entry's window, and sets the TTL it should have when the read did not
    /// renew it (first read of a sliding entry here) or renewed it wrongly (the entry was rewritten with other
    /// expiration by another instance).
    /// </summary>
    private async ValueTask ReconcileAsync(string mapped, EntryTiming timing, TimeSpan? renewedWith, CancellationToken token)
    {
        if (timing.IsSliding)
        {
            Learn(mapped, timing);
        }
        else
        {
            _windows.TryRemove(mapped, out _);
        }

        var due = timing.TimeToLive(_time.GetUtcNow());
        var fixedAndUntouched = !timing.IsSliding && renewedWith is null;
        if (fixedAndUntouched || due is null || (renewedWith is { } sent && Math.Abs((sent - due.Value).TotalSeconds) < 1))
        {
            return;
        }

        await _client.TouchAsync(mapped, due.Value, token).ConfigureAwait(false);
    }

    private async ValueTask WriteAsync(string key, ReadOnlySequence<byte> value, DistributedCacheEntryOptions options, CancellationToken token)
    {
        ArgumentNullException.ThrowIfNull(options);
        var mapped = MapKey(key);
        var timing = TimingOf(key, options);
        var ttl = timing.TimeToLive(_time.GetUtcNow()) ?? throw new ArgumentOutOfRangeException(nameof(options), options.AbsoluteExpiration, $"Key '{key}': the absolute expiration must be in the future.");
        var length = checked((int)value.Length + EntryTiming.Length);
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            value.CopyTo(buffer);
            timing.Write(buffer.AsSpan(length - EntryTiming.Length, EntryTiming.Length));
            await _client.SetAsync(mapped, buffer.AsMemory(0, length), ttl, EntryFlags, token).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        if (timing.IsSliding)
        {
            Learn(mapped, timing);
        }
        else
        {
            _windows.TryRemove(mapped, out _);
        }
    }

    private EntryTiming TimingOf(string key, DistributedCacheEntryOptions options)
    {
        var now = _time.GetUtcNow();
        var deadline = options.AbsoluteExpiration ?? (options.AbsoluteExpirationRelativeToNow is { } relative ? now + relative : null);
        if (deadline is { } d && d <= now)
        {
            throw new ArgumentOutOfRangeException(nameof(options), d, $"Key '{key}': the absolute expiration must be in the future.");
        }

        if (options.SlidingExpiration is { } sliding && sliding <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), sliding, $"Key '{key}': the sliding expiration must be positive.");
        }

        var window = options.SlidingExpiration is { } s ? (uint)Math.Min(uint.MaxValue, Math.Ceiling(s.TotalSeconds)) : 0u;
        var deadlineSeconds = deadline is { } dl ? (uint)Math.Min(uint.MaxValue, Math.Ceiling(dl.ToUnixTimeMilliseconds() / 1000.0)) : 0u;
        return new EntryTiming(window, deadlineSeconds);
    }

    private void Learn(string mapped, EntryTiming timing)
    {
        if (_windows.Count >= MaxLearnedWindows)
        {
            _windows.Clear();
        }

        _windows[mapped] = timing;
    }

    /// <summary>The memcached key for a cache key: the prefix and the key, or the prefix and the key's SHA-256 when memcached cannot take that.</summary>
    private string MapKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var candidate = _prefix.Length == 0 ? key : _prefix + key;
        if (candidate.Length > 0 && Encoding.UTF8.GetByteCount(candidate) <= 250 && !candidate.AsSpan().ContainsAnyInRange('\0', ' ') && !candidate.Contains('\u007f', StringComparison.Ordinal))
        {
            return candidate;
        }

        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(key), hash);
        return _prefix + "#" + Convert.ToBase64String(hash).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }
}
