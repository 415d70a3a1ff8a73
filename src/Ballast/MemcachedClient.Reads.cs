using System.Buffers;
using Ballast.Protocol;

namespace Ballast;

/// <summary>Reads.</summary>
public sealed partial class MemcachedClient
{
    /// <summary>Reads a key. A down, stalled or fenced server gives a miss, never an error or a stale value.</summary>
    /// <exception cref="InvalidCacheKeyException">The key breaks memcached's rules.</exception>
    public ValueTask<GetResult> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        var cacheKey = Key(key);
        return Observe("get", cacheKey).Track(_pool.IsViewCurrent ? _strategy.GetAsync(cacheKey, 0, cancellationToken) : GetWhenReadyAsync(cacheKey, cancellationToken), IsHit);
    }

    // Apart from GetAsync, so its lambda's closure is allocated only on this slow path, not on every read.
    private ValueTask<GetResult> GetWhenReadyAsync(Protocol.CacheKey cacheKey, CancellationToken cancellationToken)
        => WhenReady(() => _strategy.GetAsync(cacheKey, 0, cancellationToken), cancellationToken);

    /// <summary>
    /// Reads a key into <paramref name="destination"/>: on a hit the value is appended to it, and the result tells its
    /// length, flags and CAS; on a miss nothing is written. Under the <see cref="FailoverPolicy.Offline"/> policy the
    /// value is copied straight from the connection's receive buffer and the read allocates nothing. A down, stalled or
    /// fenced server gives a miss, as with <see cref="GetAsync(string, CancellationToken)"/>.
    /// </summary>
    /// <remarks>
    /// The value is written on the connection's thread before the returned task completes; leave
    /// <paramref name="destination"/> alone until then. After a cancellation nothing more is written into it.
    /// </remarks>
    /// <exception cref="InvalidCacheKeyException">The key breaks memcached's rules.</exception>
    /// <exception cref="MemcachedException">The destination refused the value (the message names key and server).</exception>
    public ValueTask<BufferedGetResult> GetAsync(string key, IBufferWriter<byte> destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var cacheKey = Key(key);
        return GetIntoAsync("get", cacheKey, destination, -1, cancellationToken);
    }

    /// <summary>
    /// Reads a key into <paramref name="destination"/> and sets its time to live in the same request, as a read (see
    /// <see cref="GetAsync(string, IBufferWriter{byte}, CancellationToken)"/>): a down, stalled or fenced server gives
    /// a miss. Under the <see cref="FailoverPolicy.Offline"/> policy the read allocates nothing.
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="timeToLive">The new time to live; zero for none (the item never expires).</param>
    /// <param name="destination">Where a hit's value is appended; left alone on a miss.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <exception cref="InvalidCacheKeyException">The key breaks memcached's rules.</exception>
    /// <exception cref="MemcachedException">The destination refused the value (the message names key and server).</exception>
    public ValueTask<BufferedGetResult> GetAndTouchAsync(string key, TimeSpan timeToLive, IBufferWriter<byte> destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var cacheKey = Key(key);
        return GetIntoAsync("get_and_touch", cacheKey, destination, Seconds(timeToLive, key), cancellationToken);
    }

    /// <summary>
    /// Reads a key's client flags and CAS without its value, and sets its time to live in the same request when
    /// <paramref name="timeToLive"/> is given: a touch that tells what it touched. On a hit
    /// <see cref="BufferedGetResult.Length"/> is 0 (nothing is read). As a read, a down, stalled or fenced server gives a
    /// miss. Under the <see cref="FailoverPolicy.Offline"/> policy the value never leaves the server; the other
    /// policies need it to tell the newest replica or the outage's gutter entry, and read it to drop it.
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="timeToLive">The new time to live (zero for none); null leaves it.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <exception cref="InvalidCacheKeyException">The key breaks memcached's rules.</exception>
    public ValueTask<BufferedGetResult> GetMetadataAsync(string key, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
    {
        var cacheKey = Key(key);
        return GetIntoAsync(timeToLive is null ? "get_metadata" : "touch", cacheKey, null, timeToLive is { } ttl ? Seconds(ttl, key) : -1, cancellationToken);
    }

    private ValueTask<BufferedGetResult> GetIntoAsync(string operation, Protocol.CacheKey cacheKey, IBufferWriter<byte>? destination, long touchSeconds, CancellationToken cancellationToken)
        => Observe(operation, cacheKey).Track(_pool.IsViewCurrent ? _strategy.GetIntoAsync(cacheKey, destination, touchSeconds, cancellationToken) : GetIntoWhenReadyAsync(cacheKey, destination, touchSeconds, cancellationToken), IsHit);

    private ValueTask<BufferedGetResult> GetIntoWhenReadyAsync(Protocol.CacheKey cacheKey, IBufferWriter<byte>? destination, long touchSeconds, CancellationToken cancellationToken)
        => WhenReady(() => _strategy.GetIntoAsync(cacheKey, destination, touchSeconds, cancellationToken), cancellationToken);

    /// <summary>Reads a key and decodes it as UTF-8; null on a miss.</summary>
    public async ValueTask<string?> GetStringAsync(string key, CancellationToken cancellationToken = default)
        => (await GetAsync(key, cancellationToken).ConfigureAwait(false)).AsString();

    /// <summary>
    /// Reads a key for cache-aside: on a miss, the result may carry a <see cref="RefillLease"/>, which this caller
    /// then uses to refill the key with <see cref="RefillAsync(string, ReadOnlyMemory{byte}, RefillLease, TimeSpan?, CancellationToken)"/>.
    /// A delete that lands between this read and the refill voids the lease, so a value read from the database before
    /// a write can never overwrite that write's invalidation.
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public ValueTask<GetResult> GetForRefillAsync(string key, CancellationToken cancellationToken = default)
    {
        var cacheKey = Key(key);
        return Observe("get_for_refill", cacheKey).Track(WhenReady(() => _strategy.GetAsync(cacheKey, LeaseSeconds, cancellationToken), cancellationToken), IsHit);
    }

    /// <summary>
    /// Reads many keys, one round trip per server (quiet <c>mg</c> requests closed by <c>mn</c>). Keys of down servers
    /// are misses. The result has an entry for every distinct key.
    /// </summary>
    public ValueTask<IReadOnlyDictionary<string, GetResult>> GetManyAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default)
        => Observe("get_many").Track(GetManyCoreAsync(keys, cancellationToken));

    private async ValueTask<IReadOnlyDictionary<string, GetResult>> GetManyCoreAsync(IEnumerable<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);

        var map = new Dictionary<string, GetResult>(keys.TryGetNonEnumeratedCount(out var count) ? count : 0, StringComparer.Ordinal);
        var (distinct, names) = DistinctKeys(keys, count, map, GetResult.Miss);
        await EnsureReadyAsync(cancellationToken).ConfigureAwait(false);
        var results = await _strategy.GetManyAsync(distinct, cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < distinct.Length; i++)
        {
            map[names?[i] ?? distinct[i].Text] = results[i];
        }

        return map;
    }

    /// <summary>
    /// Validates <paramref name="keys"/> (<paramref name="count"/> of them when known, else 0) and drops repeats, using
    /// <paramref name="map"/> (the caller's result map, each key entered with <paramref name="placeholder"/>) as the set:
    /// one allocation fewer per call. Returns the distinct keys as sent (with the key prefix) and, only when there is a
    /// prefix, as given (what results are keyed by; without a prefix they are the same strings), in the same order.
    /// </summary>
    private (CacheKey[] Keys, string[]? Names) DistinctKeys<TValue>(IEnumerable<string> keys, int count, Dictionary<string, TValue> map, TValue placeholder)
    {
        var distinct = new CacheKey[count];
        var names = _keyPrefix is null ? null : new string[count];
        var n = 0;
        foreach (var key in keys)
        {
            var cacheKey = Key(key);
            if (map.TryAdd(key, placeholder))
            {
                if (n == distinct.Length)
                {
                    Array.Resize(ref distinct, Math.Max(4, n * 2));
                    if (names is not null)
                    {
                        Array.Resize(ref names, distinct.Length);
                    }
                }

                if (names is not null)
                {
                    names[n] = key;
                }

                distinct[n++] = cacheKey;
            }
        }

        if (n != distinct.Length)
        {
            Array.Resize(ref distinct, n);
            if (names is not null)
            {
                Array.Resize(ref names, n);
            }
        }

        return (distinct, names);
    }

    /// <summary>
    /// Reads a key from its own server and surfaces failures as exceptions instead of misses: for tools (the CLI
    /// tells "miss" from "unreachable") and tests of the wire path.
    /// </summary>
    internal async ValueTask<GetResult> GetFromHomeServerAsync(string key, CancellationToken cancellationToken = default)
    {
        var cacheKey = Key(key);
        await EnsureReadyAsync(cancellationToken).ConfigureAwait(false);
        return await _strategy.HomeFor(cacheKey).ExecuteAsync(new Protocol.Commands.GetCommand(cacheKey), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>How long a refill lease (the placeholder <c>mg N</c> creates) lives: long enough for a database read.</summary>
    private const long LeaseSeconds = 10;
}
