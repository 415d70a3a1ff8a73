using System.Buffers;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Caching.Distributed;

namespace Ballast.Extensions;

/// <summary>
/// <see cref="IDistributedCache"/> and <see cref="IBufferDistributedCache"/> over memcached, for session state,
/// output caching, HybridCache and FusionCache. Reads of a down, stalled or fenced server are misses;
/// <see cref="RemoveAsync"/> is a Ballast delete (confirmed, or its server fenced, before it returns); and a write or a
/// refresh that did not land throws, so that the caller (HybridCache logs it) knows.
/// </summary>
/// <remarks>
/// <para>Every call is one request to memcached: a read (<see cref="GetAsync"/>, <see cref="TryGetAsync"/>) renews a
/// sliding entry in the read's own request (meta <c>mg ... T</c>), and <see cref="RefreshAsync"/> renews it without
/// fetching its value. The sliding window travels in the entry's client flags, which every response returns, and the
/// absolute deadline in an 8-byte trailer of its value; an instance renews with the window its last writes and reads
/// showed, and a response that shows another one is corrected by a second request (the first read of an entry whose
/// window differs from the others', say).</para>
/// <para>Expiration: memcached counts TTLs in whole seconds and its clock ticks once a second, so a sliding window is
/// rounded up to whole seconds (a sub-second one to one second) and an entry of window N lives N to N+1 seconds after
/// its last read or refresh. An absolute expiration is kept to the millisecond: reads compare it with the cache's
/// <see cref="TimeProvider"/> and miss from then on (memcached drops the bytes up to two seconds later). Windows above
/// 194 days are stored as 194 days.</para>
/// <para>Entries carry client flags <see cref="EntryFlags"/> plus their window in seconds; a value stored under the same
/// key by anything else reads as a miss.</para>
/// </remarks>
public sealed class BallastDistributedCache : IBufferDistributedCache
{
    /// <summary>
    /// The client flags of an entry without sliding expiration (0xBC000000); a sliding entry's flags add its window in
    /// seconds to it (the low 24 bits).
    /// </summary>
    public const uint EntryFlags = 0xBC00_0000;

    // Records of entries whose timing the guess does not tell (see KnownTimings): 64 K slots, about 0.5 MB, plus the
    // records themselves; every other entry needs none.
    private const int KnownTimingSlots = 1 << 16;

    private readonly IMemcachedClient _client;
    private readonly TimeProvider _time;
    private readonly string _prefix;
    private readonly KnownTimings _known = new(KnownTimingSlots);

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
        var writer = TrailerStrippingWriter.RentForArray();
        try
        {
            return await ReadAsync(key, writer, token).ConfigureAwait(false) ? writer.Commit() : null;
        }
        finally
        {
            TrailerStrippingWriter.Return(writer);
        }
    }

    /// <inheritdoc />
    public bool TryGet(string key, IBufferWriter<byte> destination) => TryGetAsync(key, destination).AsTask().GetAwaiter().GetResult();

    /// <inheritdoc />
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<bool> TryGetAsync(string key, IBufferWriter<byte> destination, CancellationToken token = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var writer = TrailerStrippingWriter.Rent(destination);
        try
        {
            if (!await ReadAsync(key, writer, token).ConfigureAwait(false))
            {
                return false;
            }

            writer.Commit();
            return true;
        }
        finally
        {
            TrailerStrippingWriter.Return(writer);
        }
    }

    /// <inheritdoc />
    public void Set(string key, byte[] value, DistributedCacheEntryOptions options) => SetAsync(key, value, options).GetAwaiter().GetResult();

    /// <inheritdoc cref="SetAsync(string, ReadOnlySequence{byte}, DistributedCacheEntryOptions, CancellationToken)"/>
    public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default)
    {
        ArgumentNullException.ThrowIfNull(value);
        return WriteAsync(key, new ReadOnlySequence<byte>(value), options, token).AsTask();
    }

    /// <inheritdoc />
    public void Set(string key, ReadOnlySequence<byte> value, DistributedCacheEntryOptions options) => WriteAsync(key, value, options, default).AsTask().GetAwaiter().GetResult();

    /// <summary>Stores an entry.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="options">Its expiration.</param>
    /// <param name="token">Cancels the wait, not the store.</param>
    /// <exception cref="ArgumentOutOfRangeException">The absolute expiration is not in the future (<c>ParamName</c> "AbsoluteExpiration", as RedisCache), or the relative or sliding expiration is not positive.</exception>
    /// <exception cref="ServerUnavailableException">The entry was not stored (its server is down or fenced); the message names the key and the server.</exception>
    /// <exception cref="MemcachedException">The store's fate is unknown (timeout, lost connection); Ballast has invalidated the key or fenced its server.</exception>
    public ValueTask SetAsync(string key, ReadOnlySequence<byte> value, DistributedCacheEntryOptions options, CancellationToken token = default)
        => WriteAsync(key, value, options, token);

    /// <inheritdoc />
    public void Refresh(string key) => RefreshAsync(key).GetAwaiter().GetResult();

    /// <summary>
    /// Renews a sliding entry's window in one request that fetches no value; an entry without one is left as it is
    /// (the request still checks that). A missing entry is not an error.
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="token">Cancels the wait.</param>
    /// <exception cref="ServerUnavailableException">The entry's server is down or fenced, or this frontend's view of the pool is not fresh: nothing was renewed.</exception>
    public Task RefreshAsync(string key, CancellationToken token = default) => RenewAsync(key, token).AsTask();

    /// <inheritdoc />
    public void Remove(string key) => RemoveAsync(key).GetAwaiter().GetResult();

    /// <summary>Deletes the entry: confirmed, or its server fenced for every frontend, before this returns.</summary>
    /// <param name="key">The key.</param>
    /// <param name="token">Cancels the wait.</param>
    /// <exception cref="ServerUnavailableException">Neither could be done (no quorum for the shared view); Ballast's journal keeps retrying.</exception>
    public async Task RemoveAsync(string key, CancellationToken token = default)
    {
        var mapped = MapKey(key);
        _known.Forget(key);
        await _client.DeleteAsync(mapped, token).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads an entry into <paramref name="writer"/> (nothing committed yet), renewing a sliding one in the same
    /// request; false on a miss, a foreign value or a passed deadline.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ReadAsync(string key, TrailerStrippingWriter writer, CancellationToken token)
    {
        var known = _known.Find(key);
        var mapped = known?.Mapped ?? MapKey(key);
        var expected = known?.Timing ?? _known.Guess;
        var read = expected.IsSliding
            ? await _client.GetAndTouchAsync(mapped, expected.TimeToLive(_time.GetUtcNow()), writer, token).ConfigureAwait(false)
            : await _client.GetAsync(mapped, writer, token).ConfigureAwait(false);
        if (!read.IsHit || !writer.HasEntry || !EntryTiming.TryReadWindow(read.Flags, out var window))
        {
            return false;
        }

        var actual = new EntryTiming(window, writer.DeadlineUnixMilliseconds);
        var now = _time.GetUtcNow();
        if (actual.HasExpired(now))
        {
            return false;
        }

        await ReconcileAsync(key, mapped, known, expected, actual, now, token).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// After a read found <paramref name="actual"/> where the request assumed <paramref name="expected"/>: when the
    /// request left memcached with another TTL than the entry needs (it renewed with another window or none, or touched
    /// an entry that has none), a second request sets the right one. Then the finding is learned.
    /// </summary>
    private async ValueTask ReconcileAsync(string key, string mapped, KnownEntry? known, EntryTiming expected, EntryTiming actual, DateTimeOffset now, CancellationToken token)
    {
        var wrong = !actual.RenewsLike(expected, now);
        if (!wrong && (known is null ? !(actual.IsSliding && actual.HasDeadline) : known.Timing == actual))
        {
            // The common case: what this instance knew was right, and there is nothing new to record.
            return;
        }

        if (wrong && (actual.IsSliding || expected.IsSliding))
        {
            await _client.GetMetadataAsync(mapped, actual.TimeToLive(now), token).ConfigureAwait(false);
        }

        _known.Learn(key, mapped, actual, fromWrite: false, guessWasWrong: wrong && known is null);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask RenewAsync(string key, CancellationToken token)
    {
        var known = _known.Find(key);
        var mapped = known?.Mapped ?? MapKey(key);
        var expected = known?.Timing ?? _known.Guess;
        var now = _time.GetUtcNow();
        var read = await _client.GetMetadataAsync(mapped, expected.IsSliding ? expected.TimeToLive(now) : null, token).ConfigureAwait(false);
        if (!read.IsHit)
        {
            ThrowIfUnreachable(key, mapped, "refreshed");
            return;
        }

        if (!EntryTiming.TryReadWindow(read.Flags, out var window) || window == expected.WindowSeconds)
        {
            // The window it was renewed with (or none, and it has none), or a foreign value: nothing to correct.
            return;
        }

        if (window > 0)
        {
            // Another window: renew with it. Its deadline is in the value, which a refresh does not read; the TTL may
            // then outlast the deadline by up to the window, and reads still miss from the deadline on.
            var timing = new EntryTiming(window, 0);
            await _client.GetMetadataAsync(mapped, timing.TimeToLive(now), token).ConfigureAwait(false);
            _known.Learn(key, mapped, timing, fromWrite: false, guessWasWrong: true);
            return;
        }

        // An entry without a window that this refresh touched: its TTL comes from its deadline, which is in its value.
        var writer = TrailerStrippingWriter.RentForArray();
        try
        {
            await ReadAsync(key, writer, token).ConfigureAwait(false);
        }
        finally
        {
            TrailerStrippingWriter.Return(writer);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WriteAsync(string key, ReadOnlySequence<byte> value, DistributedCacheEntryOptions options, CancellationToken token)
    {
        ArgumentNullException.ThrowIfNull(options);
        var mapped = MapKey(key);
        var now = _time.GetUtcNow();
        var timing = EntryTiming.For(key, options, now);
        var length = checked((int)value.Length + EntryTiming.TrailerLength);
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        StoreResult stored;
        try
        {
            value.CopyTo(buffer);
            timing.WriteTrailer(buffer.AsSpan(length - EntryTiming.TrailerLength, EntryTiming.TrailerLength));
            stored = await _client.SetAsync(mapped, buffer.AsMemory(0, length), timing.TimeToLive(now), timing.Flags, token).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        if (!stored.IsStored)
        {
            _known.Forget(key);
            var server = _client.Locate(mapped);
            throw new ServerUnavailableException($"Key '{key}' was not stored in the distributed cache: its server {server} answered {stored.Status} (down or fenced for this frontend); readers miss it or read the value it had before.", server);
        }

        _known.Learn(key, mapped, timing, fromWrite: true, guessWasWrong: false);
    }

    /// <summary>After a miss of a request that had to land (a refresh): throws when the key's server could not be asked.</summary>
    private void ThrowIfUnreachable(string key, string mapped, string what)
    {
        var server = _client.Locate(mapped);
        var state = _client.GetServerState(server);
        if (state != ServerState.Up || !_client.IsSharedViewFresh)
        {
            throw new ServerUnavailableException($"Key '{key}' was not {what}: its server {server} is {(state == ServerState.Up ? "up, but this frontend's view of the pool is not fresh" : state.ToString().ToLowerInvariant())}, so the request was not answered.", server);
        }
    }

    /// <summary>The memcached key for a cache key: the prefix and the key, or the prefix and the key's SHA-256 when memcached cannot take that.</summary>
    private string MapKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var candidate = _prefix.Length == 0 ? key : _prefix + key;
        if (candidate.Length > 0 && candidate.Length <= 250 && !candidate.AsSpan().ContainsAnyInRange('\0', ' ') && !candidate.Contains('\u007f', StringComparison.Ordinal) && Encoding.UTF8.GetByteCount(candidate) <= 250)
        {
            return candidate;
        }

        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(key), hash);
        return _prefix + "#" + Convert.ToBase64String(hash).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }
}
