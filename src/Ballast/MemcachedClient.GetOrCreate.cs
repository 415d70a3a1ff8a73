using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Ballast.Diagnostics;
using Ballast.GetOrCreate;
using Ballast.Serialization;

namespace Ballast;

/// <summary>Cache-aside with stampede protection: <c>GetOrCreateAsync</c>.</summary>
public sealed partial class MemcachedClient
{
    private readonly SingleFlight _flights = new();

    /// <summary>
    /// Reads <paramref name="key"/> and, on a miss, creates its value with <paramref name="factory"/>, stores it and
    /// returns it, so that a cold key costs the source one call however many callers want it: concurrent callers in
    /// this process share one factory call, and callers in other processes (other clients of the pool) that find
    /// another one refilling the key (the meta protocol's lease, <c>mg ... N</c> answered <c>W</c> to one caller and
    /// <c>Z</c> to the rest) wait up to <see cref="GetOrCreateOptions.LeaseWait"/> for its value before calling the
    /// factory themselves; with <see cref="GetOrCreateOptions.ServeStaleWhileRefreshing"/> a value marked stale
    /// (<see cref="MarkStaleAsync"/>) is returned to them at once while the lease holder refreshes it. A delete that
    /// lands while the factory runs voids the lease, so the created value is
    /// returned but not stored (it may predate the delete's write). Values are JSON (System.Text.Json) with
    /// <see cref="MemcachedClientOptions.JsonSerializerOptions"/>; for native AOT use the overload that takes a
    /// source-generated <see cref="JsonTypeInfo{T}"/>.
    /// </summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="factory">Creates the value on a miss (reads the database, say). Its exceptions reach the callers; nothing is stored.</param>
    /// <param name="timeToLive">Expiry of the stored value; null for none.</param>
    /// <param name="cancellationToken">Cancels this caller's wait; the factory call is cancelled only when every caller sharing it has cancelled.</param>
    /// <exception cref="InvalidCacheKeyException">The key breaks memcached's rules.</exception>
    [RequiresUnreferencedCode("System.Text.Json reflects over T unless MemcachedClientOptions.JsonSerializerOptions carries a source-generated resolver; for AOT pass a JsonTypeInfo<T>.")]
    [RequiresDynamicCode("System.Text.Json may generate code for T at run time; for AOT pass a JsonTypeInfo<T>.")]
    public ValueTask<T> GetOrCreateAsync<T>(string key, Func<CancellationToken, ValueTask<T>> factory, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
        => GetOrCreateAsync(key, factory, JsonValueCodec.TypeInfo<T>(_options.JsonSerializerOptions), timeToLive, cancellationToken);

    /// <summary>
    /// <see cref="GetOrCreateAsync{T}(string, Func{CancellationToken, ValueTask{T}}, TimeSpan?, CancellationToken)"/>
    /// with a given <see cref="JsonTypeInfo{T}"/> (from a source-generated <c>JsonSerializerContext</c>): no reflection, AOT-safe.
    /// </summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="factory">Creates the value on a miss.</param>
    /// <param name="typeInfo">How to serialize <typeparamref name="T"/>.</param>
    /// <param name="timeToLive">Expiry of the stored value; null for none.</param>
    /// <param name="cancellationToken">Cancels this caller's wait.</param>
    public ValueTask<T> GetOrCreateAsync<T>(string key, Func<CancellationToken, ValueTask<T>> factory, JsonTypeInfo<T> typeInfo, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(factory);
        ArgumentNullException.ThrowIfNull(typeInfo);
        var cacheKey = Key(key);
        return Observe("get_or_create", cacheKey).Track(GetOrCreateCoreAsync(key, factory, typeInfo, timeToLive, cancellationToken));
    }

    private async ValueTask<T> GetOrCreateCoreAsync<T>(string key, Func<CancellationToken, ValueTask<T>> factory, JsonTypeInfo<T> typeInfo, TimeSpan? timeToLive, CancellationToken cancellationToken)
    {
        // The hit path shares nothing: only misses go through the flight.
        var started = _time.GetTimestamp();
        var first = await ReadForCreateAsync(key, cancellationToken).ConfigureAwait(false);
        if (first.Value is { } cached && TryDeserialize(key, cached, typeInfo, out var value))
        {
            return value;
        }

        // A caller whose read won the refill lease (only one across every frontend does) must be the one to create,
        // even if callers here that lost it already wait in a run of their own: that run waits for this value.
        return await _flights.RunAsync(key, token => CreateAsync(key, factory, typeInfo, timeToLive, first, started, token), started, cancellationToken, mayJoin: first.Lease is null).ConfigureAwait(false);
    }

    /// <summary>
    /// The shared run for a missed key: take the lease and create, or wait for whoever holds it. The value comes with
    /// the moment it reflects (the read that found it began, or the factory was called), which decides who may have it.
    /// </summary>
    private async Task<FreshValue<T>> CreateAsync<T>(string key, Func<CancellationToken, ValueTask<T>> factory, JsonTypeInfo<T> typeInfo, TimeSpan? timeToLive, GetResult firstRead, long firstReadStarted, CancellationToken cancellationToken)
    {
        var read = firstRead;
        var readStarted = firstReadStarted;
        var waitStart = _time.GetTimestamp();
        var unreadableDeleted = false;
        while (true)
        {
            if (read.Value is { } cached && TryDeserialize(key, cached, typeInfo, out var value))
            {
                LogLeaseWait(key, waitStart, "another frontend held the refill lease", "its value arrived");
                return new FreshValue<T>(value, readStarted);
            }

            if (read.Lease is { } lease)
            {
                var factoryStarted = _time.GetTimestamp();
                T created;
                try
                {
                    created = await factory(cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    // Failed or cancelled: give the lease back, or every reader (here and on other frontends) would
                    // miss and wait until the placeholder expires.
                    await _strategy.AbandonLeaseAsync(Key(key), lease).ConfigureAwait(false);
                    throw;
                }

                await StoreCreatedAsync(key, JsonValueCodec.Serialize(created, typeInfo), lease, timeToLive, cancellationToken).ConfigureAwait(false);
                return new FreshValue<T>(created, factoryStarted);
            }

            if (read.IsHit && !unreadableDeleted)
            {
                // A value that does not deserialize (another type, an older version's JSON): it is deleted (confirmed
                // or fenced), and the next read wins a lease to create the value under. Stored without a lease, the
                // created value could land after a delete made while the factory ran, and be served until its TTL.
                unreadableDeleted = true;
                if (!await TryDeleteUnreadableAsync(key).ConfigureAwait(false))
                {
                    return await CreateWithoutStoringAsync(factory, cancellationToken).ConfigureAwait(false);
                }

                readStarted = _time.GetTimestamp();
                read = await ReadForCreateAsync(key, cancellationToken).ConfigureAwait(false);
                continue;
            }

            // A miss without the lease: another caller holds it, or the key's server is down or fenced. Waiting makes
            // sense only in the first case, and only for a while: the holder may have crashed.
            if (!IsHomeReadable(key))
            {
                _options.Logger.CreatedWithoutLease(key, "its server is down or fenced here, so no refill lease can be had");
                return await CreateWithoutStoringAsync(factory, cancellationToken).ConfigureAwait(false);
            }

            if (read.IsHit || _time.GetElapsedTime(waitStart) >= _options.GetOrCreate.LeaseWait)
            {
                LogLeaseWait(key, waitStart, read.IsHit ? "the value under the key could not be read, even after its delete" : "another frontend holds the refill lease and its value did not come", "the factory runs here without storing");
                return await CreateWithoutStoringAsync(factory, cancellationToken).ConfigureAwait(false);
            }

            await Runtime.WorkScheduler.Current.Delay(_options.GetOrCreate.PollInterval, _time, cancellationToken).ConfigureAwait(false);
            readStarted = _time.GetTimestamp();
            read = await ReadForCreateAsync(key, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The factory's value, not stored (no lease): it reflects the source as of the call.</summary>
    private async Task<FreshValue<T>> CreateWithoutStoringAsync<T>(Func<CancellationToken, ValueTask<T>> factory, CancellationToken cancellationToken)
    {
        var factoryStarted = _time.GetTimestamp();
        return new FreshValue<T>(await factory(cancellationToken).ConfigureAwait(false), factoryStarted);
    }

    /// <summary>Deletes a cached value that does not deserialize; false when the delete could be neither confirmed nor fenced.</summary>
    private async Task<bool> TryDeleteUnreadableAsync(string key)
    {
        try
        {
            // Not the caller's to cancel: an invalidation runs to its end.
            await DeleteAsync(key, CancellationToken.None).ConfigureAwait(false);
            return true;
        }
        catch (ServerUnavailableException error)
        {
            _options.Logger.CreatedValueStoreFailed(error, key);
            return false;
        }
    }

    /// <summary>
    /// A read that may win the refill lease. With <see cref="GetOrCreateOptions.ServeStaleWhileRefreshing"/> (Offline
    /// policy) it reads the key's server itself, so that a value marked stale while another caller holds the lease
    /// (<c>X</c> and <c>Z</c>) comes back as a hit instead of the miss every other read makes of it.
    /// </summary>
    private async ValueTask<GetResult> ReadForCreateAsync(string key, CancellationToken cancellationToken)
    {
        if (!_options.GetOrCreate.ServeStaleWhileRefreshing || Policy != FailoverPolicy.Offline)
        {
            return await GetForRefillAsync(key, cancellationToken).ConfigureAwait(false);
        }

        var cacheKey = Key(key);
        await EnsureReadyAsync(cancellationToken).ConfigureAwait(false);
        ServerNodeOrMiss(cacheKey, out var node);
        if (node is null)
        {
            return GetResult.Miss;
        }

        var epoch = _pool.View[node.Index].Epoch;
        GetResult raw;
        try
        {
            raw = await Observe("get_for_refill", cacheKey).Track(node.ExecuteAsync(new Protocol.Commands.GetCommand(cacheKey, vivifySeconds: LeaseSeconds), cancellationToken), IsHit).ConfigureAwait(false);
        }
        catch (MemcachedException error)
        {
            node.Errors.Absorbed(AbsorbedError.ReadMiss, key, error);
            return GetResult.Miss;
        }

        return raw is { IsStale: true, RefillPending: true, Value.Length: > 0 } ? raw : Failover.FailoverStrategy.Present(cacheKey, node, raw, epoch);
    }

    private async ValueTask StoreCreatedAsync(string key, byte[] bytes, RefillLease? lease, TimeSpan? timeToLive, CancellationToken cancellationToken)
    {
        try
        {
            var stored = lease is null
                ? await SetAsync(key, bytes, timeToLive, 0, cancellationToken).ConfigureAwait(false)
                : await RefillAsync(key, bytes, lease, timeToLive, cancellationToken).ConfigureAwait(false);
            if (!stored.IsStored)
            {
                _options.Logger.CreatedValueNotStored(key, stored.Status);
            }
        }
        catch (MemcachedException error)
        {
            // The caller still gets its value: the cache is an optimisation, and the store path has already
            // invalidated the key (or fenced its server) if the store's fate is unknown.
            _options.Logger.CreatedValueStoreFailed(error, key);
        }
    }

    private bool TryDeserialize<T>(string key, byte[] bytes, JsonTypeInfo<T> typeInfo, out T value)
    {
        try
        {
            value = JsonValueCodec.Deserialize(bytes, typeInfo);
            return true;
        }
        catch (JsonException error)
        {
            _options.Logger.CachedValueUnreadable(error, key, typeof(T).Name);
            value = default!;
            return false;
        }
    }

    private bool IsHomeReadable(string key)
    {
        Span<byte> utf8 = stackalloc byte[Protocol.CacheKey.MaxLength];
        return _pool.Access.IsReadable(_pool.Servers.Primary(Key(key).GetUtf8(utf8)));
    }

    private void LogLeaseWait(string key, long waitStart, string reason, string outcome)
    {
        var waited = _time.GetElapsedTime(waitStart);
        if (waited > TimeSpan.Zero)
        {
            _options.Logger.LeaseWaitEnded(key, reason, waited.TotalMilliseconds, outcome);
        }
    }

    /// <summary>The key's home server when it is readable; null when it is down or fenced (the read is then a miss).</summary>
    private void ServerNodeOrMiss(Protocol.CacheKey key, out Pool.ServerNode? node)
    {
        try
        {
            node = _strategy.HomeFor(key);
        }
        catch (ServerUnavailableException)
        {
            node = null;
        }
    }
}
