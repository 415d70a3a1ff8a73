using System.Runtime.CompilerServices;
using Ballast.Diagnostics;
using Ballast.Protocol.Commands;

namespace Ballast;

/// <summary>Writes: stores, deletes, counters and touches.</summary>
public sealed partial class MemcachedClient
{
    /// <summary>Stores a value unconditionally. Byte arrays are stored with the given client flags (0 by default), so PHP reads them as strings.</summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The bytes to store.</param>
    /// <param name="timeToLive">Expiry; null or zero for none.</param>
    /// <param name="flags">Client flags stored with the item. Default 0.</param>
    /// <param name="cancellationToken">Cancels the wait, not the store: it may still be applied, and if its fate becomes unknown the key is still invalidated.</param>
    /// <returns><see cref="StoreStatus.Stored"/>, or <see cref="StoreStatus.ServerDown"/> when the key's server is down and the policy stores nowhere else.</returns>
    /// <exception cref="CacheValueTooLargeException">The value exceeds the item size limit; nothing was sent.</exception>
    /// <exception cref="MemcachedException">The store's fate is unknown (timeout, lost connection); the key has been invalidated or its server fenced.</exception>
    /// <exception cref="InvalidationOwedException">The store was not sent or its fate is unknown, and the old value could be neither deleted nor fenced (no quorum for the shared view); the journal keeps retrying.</exception>
    [OverloadResolutionPriority(1)] // Over SetAsync<T>: byte arrays and memory bind here, as before the typed overloads.
    public ValueTask<StoreResult> SetAsync(string key, ReadOnlyMemory<byte> value, TimeSpan? timeToLive = null, uint flags = 0, CancellationToken cancellationToken = default)
        => StoreAsync(key, value, StoreMode.Set, timeToLive, flags, 0, null, cancellationToken);

    /// <summary>Stores a string as UTF-8 (client flags 0).</summary>
    [OverloadResolutionPriority(1)] // Over SetAsync<T>: strings are stored as UTF-8, not as JSON strings.
    public ValueTask<StoreResult> SetAsync(string key, string value, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
        => SetAsync(key, Utf8(value), timeToLive, 0, cancellationToken);

    /// <summary>
    /// Stores a value with the caller's version (a row version, say). Under <see cref="FailoverPolicy.Replicated"/>
    /// the newest version wins on read, and a replica that already holds a higher version keeps it (the set compares
    /// versions and writes by compare-and-swap): <see cref="StoreStatus.NotStored"/> when no replica took this one.
    /// Other policies store the value as <see cref="SetAsync(string, ReadOnlyMemory{byte}, TimeSpan?, uint, CancellationToken)"/> does.
    /// </summary>
    public ValueTask<StoreResult> SetVersionedAsync(string key, ReadOnlyMemory<byte> value, long version, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
        => StoreAsync(key, value, StoreMode.Set, timeToLive, 0, 0, version, cancellationToken);

    /// <summary>Stores only if the key does not exist (<see cref="StoreStatus.NotStored"/> otherwise).</summary>
    public ValueTask<StoreResult> AddAsync(string key, ReadOnlyMemory<byte> value, TimeSpan? timeToLive = null, uint flags = 0, CancellationToken cancellationToken = default)
        => StoreAsync(key, value, StoreMode.Add, timeToLive, flags, 0, null, cancellationToken);

    /// <summary>Stores only if the key exists (<see cref="StoreStatus.NotStored"/> otherwise).</summary>
    public ValueTask<StoreResult> ReplaceAsync(string key, ReadOnlyMemory<byte> value, TimeSpan? timeToLive = null, uint flags = 0, CancellationToken cancellationToken = default)
        => StoreAsync(key, value, StoreMode.Replace, timeToLive, flags, 0, null, cancellationToken);

    /// <summary>Appends bytes to an existing value (<see cref="StoreStatus.NotStored"/> when missing).</summary>
    public ValueTask<StoreResult> AppendAsync(string key, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default)
        => StoreAsync(key, value, StoreMode.Append, null, 0, 0, null, cancellationToken);

    /// <summary>Prepends bytes to an existing value (<see cref="StoreStatus.NotStored"/> when missing).</summary>
    public ValueTask<StoreResult> PrependAsync(string key, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default)
        => StoreAsync(key, value, StoreMode.Prepend, null, 0, 0, null, cancellationToken);

    /// <summary>
    /// Stores only if the item's CAS unique is still <paramref name="cas"/> (from <see cref="GetResult.Cas"/>):
    /// <see cref="StoreStatus.Exists"/> when someone changed it since, <see cref="StoreStatus.NotFound"/> when it is gone.
    /// </summary>
    public ValueTask<StoreResult> CompareAndSwapAsync(string key, ReadOnlyMemory<byte> value, ulong cas, TimeSpan? timeToLive = null, uint flags = 0, CancellationToken cancellationToken = default)
    {
        if (cas == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(cas), cas, $"Key '{key}': a CAS unique is never 0; read it from GetResult.Cas.");
        }

        return StoreAsync(key, value, StoreMode.Set, timeToLive, flags, cas, null, cancellationToken);
    }

    /// <summary>
    /// Refills a key under the lease a <see cref="GetForRefillAsync(string, CancellationToken)"/> miss granted.
    /// <see cref="StoreStatus.Exists"/> or <see cref="StoreStatus.NotFound"/> means the lease was voided by a delete:
    /// the value may be outdated and was rightly not stored.
    /// </summary>
    public ValueTask<StoreResult> RefillAsync(string key, ReadOnlyMemory<byte> value, RefillLease lease, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        var cacheKey = Key(key);
        if (!string.Equals(lease.Key, cacheKey.Text, StringComparison.Ordinal))
        {
            throw new ArgumentException($"The lease is for key '{lease.Key}', not '{cacheKey.Text}'.", nameof(lease));
        }

        CheckSize(cacheKey, value.Length);
        var seconds = Seconds(timeToLive, key);
        return Observe("refill", cacheKey).Track(WhenReady(() => _strategy.RefillAsync(cacheKey, value, lease, seconds, cancellationToken), cancellationToken));
    }

    /// <summary>
    /// Deletes (invalidates) a key. Returns only once the delete is confirmed or the key's server is fenced for every
    /// frontend (<see cref="DeleteStatus.ServerFenced"/>): either way the old value can no longer be read.
    /// </summary>
    /// <remarks>
    /// <paramref name="cancellationToken"/> cancels the caller's wait, never the invalidation: once called (even with a
    /// token already cancelled), the delete runs until it is confirmed or its server fenced, and the call then throws
    /// <see cref="OperationCanceledException"/> if the token fired first. An aborted request cannot leave the old
    /// value readable.
    /// </remarks>
    /// <exception cref="InvalidationOwedException">Neither could be done (no quorum for the shared view); the journal keeps retrying.</exception>
    public ValueTask<DeleteStatus> DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        var cacheKey = Key(key);
        return Observe("delete", cacheKey).Track(DeleteCoreAsync(cacheKey, cancellationToken));
    }

    /// <summary>The failover strategy's delete (confirmed or fenced), once the pool has read the shared view.</summary>
    private ValueTask<DeleteStatus> DeleteCoreAsync(Protocol.CacheKey cacheKey, CancellationToken cancellationToken)
        => _pool.Ready.IsCompleted
            ? _strategy.DeleteAsync(cacheKey, cancellationToken)
            : _pool.Invalidations.Detach(InvalidateWhenReadyAsync(() => _strategy.DeleteAsync(cacheKey, cancellationToken), cancellationToken), cancellationToken, "invalidation", cacheKey.Text);

    /// <summary>
    /// Marks a key stale instead of deleting it (the meta protocol's <c>md ... I</c>): Ballast's reads treat it as a
    /// miss, and the first <see cref="GetForRefillAsync(string, CancellationToken)"/> after it wins the lease to refill
    /// it, so one caller recomputes while the others go to the source (memcached gives the win to the first read of
    /// any kind: a plain <see cref="GetAsync(string, CancellationToken)"/> that comes first spends it). Like
    /// <see cref="DeleteAsync"/>, the mark is confirmed or the server fenced (on every replica under
    /// <see cref="FailoverPolicy.Replicated"/>, and in the gutter too under <see cref="FailoverPolicy.Gutter"/>), and
    /// a cancelled caller stops waiting without stopping the mark.
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="timeToLive">How long the stale item lives before it expires.</param>
    /// <param name="cancellationToken">Cancels the wait, not the invalidation.</param>
    /// <returns>False when there was no such item; true when it was marked, or its server fenced.</returns>
    /// <exception cref="InvalidationOwedException">Neither could be done (no quorum for the shared view); the journal keeps retrying.</exception>
    public ValueTask<bool> MarkStaleAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default)
        => Observe("mark_stale", Key(key)).Track(MarkStaleCoreAsync(key, timeToLive, cancellationToken));

    private async ValueTask<bool> MarkStaleCoreAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        var cacheKey = Key(key);
        var seconds = Seconds(timeToLive, key);
        return await _pool.Invalidations.Detach(InvalidateWhenReadyAsync(() => _strategy.MarkStaleAsync(cacheKey, seconds, cancellationToken), cancellationToken), cancellationToken, "mark-stale", key).ConfigureAwait(false);
    }

    /// <summary>Adds <paramref name="delta"/> to a counter; creates it with <paramref name="initial"/> when given and missing.</summary>
    /// <exception cref="ServerUnavailableException">The counter's server is down. Counters never move to another server.</exception>
    /// <exception cref="NotSupportedException">The pool's policy is <see cref="FailoverPolicy.Replicated"/>, whose versioned copies cannot be counted on.</exception>
    public ValueTask<CounterResult> IncrementAsync(string key, ulong delta = 1, ulong? initial = null, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
        => CounterAsync(key, increment: true, delta, initial, timeToLive, cancellationToken);

    /// <summary>Subtracts <paramref name="delta"/> from a counter (memcached stops at 0); creates it with <paramref name="initial"/> when given and missing.</summary>
    /// <exception cref="ServerUnavailableException">The counter's server is down.</exception>
    /// <exception cref="NotSupportedException">The pool's policy is <see cref="FailoverPolicy.Replicated"/>.</exception>
    public ValueTask<CounterResult> DecrementAsync(string key, ulong delta = 1, ulong? initial = null, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
        => CounterAsync(key, increment: false, delta, initial, timeToLive, cancellationToken);

    /// <summary>
    /// Sets a key's time to live without reading it, as the pool's policy places the key (every replica under
    /// <see cref="FailoverPolicy.Replicated"/>; the gutter entry while the key's server is in an outage under
    /// <see cref="FailoverPolicy.Gutter"/>). False when the key does not exist, or its server is down or fenced
    /// (its value is a miss then anyway).
    /// </summary>
    public ValueTask<bool> TouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default)
        => Observe("touch", Key(key)).Track(TouchCoreAsync(key, timeToLive, cancellationToken));

    private async ValueTask<bool> TouchCoreAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        var cacheKey = Key(key);
        var seconds = Seconds(timeToLive, key);
        await EnsureReadyAsync(cancellationToken).ConfigureAwait(false);
        return await _strategy.TouchAsync(cacheKey, seconds, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads a key and sets its time to live in one request, as a read: a down, stalled or fenced server gives a
    /// miss, a stale item or lease placeholder is a miss, and a replicated value comes back without its version
    /// envelope (a tombstone is a miss).
    /// </summary>
    public ValueTask<GetResult> GetAndTouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default)
    {
        var cacheKey = Key(key);
        var seconds = Seconds(timeToLive, key);
        return Observe("get_and_touch", cacheKey).Track(_pool.IsViewCurrent ? _strategy.GetAndTouchAsync(cacheKey, seconds, cancellationToken) : GetAndTouchWhenReadyAsync(cacheKey, seconds, cancellationToken), IsHit);
    }

    // Apart from GetAndTouchAsync, so its lambda's closure is allocated only on this slow path, as GetAsync's is.
    private ValueTask<GetResult> GetAndTouchWhenReadyAsync(Protocol.CacheKey cacheKey, long seconds, CancellationToken cancellationToken)
        => WhenReady(() => _strategy.GetAndTouchAsync(cacheKey, seconds, cancellationToken), cancellationToken);

    private ValueTask<StoreResult> StoreAsync(string key, ReadOnlyMemory<byte> value, StoreMode mode, TimeSpan? ttl, uint flags, ulong cas, long? version, CancellationToken cancellationToken)
    {
        var cacheKey = Key(key);
        CheckSize(cacheKey, value.Length);
        var seconds = Seconds(ttl, key);
        return Observe(StoreOperationName(mode, cas), cacheKey).Track(StoreCoreAsync(cacheKey, value, mode, seconds, flags, cas, version, cancellationToken));
    }

    /// <summary>The failover strategy's store of a checked key and value, once the pool has read the shared view.</summary>
    private ValueTask<StoreResult> StoreCoreAsync(Protocol.CacheKey cacheKey, ReadOnlyMemory<byte> value, StoreMode mode, long seconds, uint flags, ulong cas, long? version, CancellationToken cancellationToken)
        => _pool.IsViewCurrent
            ? _strategy.StoreAsync(cacheKey, value, mode, seconds, flags, cas, version, cancellationToken)
            : StoreWhenReadyAsync(cacheKey, value, mode, seconds, flags, cas, version, cancellationToken);

    // Apart from StoreAsync, so its state machine is paid for only on this slow path, not on every store.
    private async ValueTask<StoreResult> StoreWhenReadyAsync(Protocol.CacheKey cacheKey, ReadOnlyMemory<byte> value, StoreMode mode, long seconds, uint flags, ulong cas, long? version, CancellationToken cancellationToken)
    {
        try
        {
            await EnsureReadyAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The caller left before the store was sent: it did not land, and the key's old value may still be served
            // (the application changed its source of truth before this call). A write that did not land is an
            // invalidation: the key is deleted once the view is read, confirmed or fenced, with no caller to wait.
            // Not the store itself: sent late, it could overwrite a newer value (simulator seed offline 3004015: a
            // set cancelled during a new frontend's first view read left version 0 served for a second).
            _ = _pool.Invalidations.Detach(InvalidateWhenReadyAsync(() => _strategy.DeleteAsync(cacheKey, cancellationToken), cancellationToken), cancellationToken, "invalidation", cacheKey.Text).AsTask();
            throw;
        }

        return await _strategy.StoreAsync(cacheKey, value, mode, seconds, flags, cas, version, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs an invalidation once the pool has read the shared view, or at once when its caller leaves first. Leaving
    /// never stops the invalidation (the invalidator detaches it); the caller's token is only the signal that the
    /// caller left.
    /// </summary>
    private async ValueTask<T> InvalidateWhenReadyAsync<T>(Func<ValueTask<T>> invalidation, CancellationToken callerLeft)
    {
        try
        {
            await EnsureFirstViewReadAsync(callerLeft).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (callerLeft.IsCancellationRequested)
        {
            // From the caller's leaving the invalidation has a quarter of the bound to land before its server is fenced,
            // and a wait for a slow first view read (up to an operation timeout) would spend it all: the deletes went a
            // second late, a partition then kept one from landing, and no view was there to fence it (simulator seed
            // replicated 39010539). A delete that lands is safe whatever the view says; one that does not fences its
            // server, as ever.
        }

        return await invalidation().ConfigureAwait(false);
    }

    private ValueTask<CounterResult> CounterAsync(string key, bool increment, ulong delta, ulong? initial, TimeSpan? ttl, CancellationToken cancellationToken)
        => Observe(increment ? "incr" : "decr", Key(key)).Track(CounterCoreAsync(key, increment, delta, initial, ttl, cancellationToken));

    private async ValueTask<CounterResult> CounterCoreAsync(string key, bool increment, ulong delta, ulong? initial, TimeSpan? ttl, CancellationToken cancellationToken)
    {
        var cacheKey = Key(key);
        var seconds = Seconds(ttl, key);
        await EnsureReadyAsync(cancellationToken).ConfigureAwait(false);
        return await _strategy.CounterAsync(cacheKey, increment, delta, initial, seconds, cancellationToken).ConfigureAwait(false);
    }
}
