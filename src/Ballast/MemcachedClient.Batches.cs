using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization.Metadata;
using Ballast.Protocol;
using Ballast.Protocol.Commands;

namespace Ballast;

/// <summary>
/// Batch writes: <c>SetManyAsync</c> and <c>DeleteManyAsync</c>. Every key's request is sent before any answer is
/// awaited, so the batch shares the pipelined connections (one round trip per connection, not per key), and each key
/// goes through the failover policy exactly as the single-key call would: a store is confirmed or its key invalidated,
/// a delete is confirmed or its server fenced. Each key's outcome is reported on its own.
/// </summary>
public sealed partial class MemcachedClient
{
    /// <summary>
    /// Stores many values unconditionally, all requests in flight together. Each key behaves as
    /// <see cref="SetAsync(string, ReadOnlyMemory{byte}, TimeSpan?, uint, CancellationToken)"/> (client flags 0).
    /// </summary>
    /// <param name="items">The keys and their values; a key may appear once.</param>
    /// <param name="timeToLive">Expiry of every value; null or zero for none.</param>
    /// <param name="cancellationToken">Cancels the wait, not the stores: they still run to their end (and a store whose fate becomes unknown still invalidates its key).</param>
    /// <returns>
    /// Every key's outcome, keyed as given: <see cref="StoreStatus.Stored"/>, <see cref="StoreStatus.ServerDown"/> when its
    /// server is down and the policy stores nowhere else, or the <see cref="MemcachedException"/> the single call would
    /// have thrown (its fate unknown, the key invalidated or its server fenced).
    /// </returns>
    /// <exception cref="ArgumentException">A key appears twice.</exception>
    /// <exception cref="InvalidCacheKeyException">A key breaks memcached's rules; nothing was sent.</exception>
    /// <exception cref="CacheValueTooLargeException">A value exceeds the item size limit; nothing was sent.</exception>
    public ValueTask<IReadOnlyDictionary<string, KeyOutcome<StoreResult>>> SetManyAsync(IEnumerable<KeyValuePair<string, ReadOnlyMemory<byte>>> items, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
        => Observe("set_many").Track(SetManyCoreAsync(items, static value => value, timeToLive, cancellationToken));

    /// <summary>
    /// <see cref="SetManyAsync(IEnumerable{KeyValuePair{string, ReadOnlyMemory{byte}}}, TimeSpan?, CancellationToken)"/>
    /// for typed values, through <see cref="MemcachedClientOptions.Serializer"/> (byte arrays and strings are stored as
    /// they are).
    /// </summary>
    /// <typeparam name="T">The values' type.</typeparam>
    /// <param name="items">The keys and their values; a key may appear once.</param>
    /// <param name="timeToLive">Expiry of every value; null or zero for none.</param>
    /// <param name="cancellationToken">Cancels the wait, not the stores.</param>
    /// <returns>Every key's outcome, keyed as given.</returns>
    /// <exception cref="ArgumentException">A key appears twice.</exception>
    /// <exception cref="InvalidCacheKeyException">A key breaks memcached's rules; nothing was sent.</exception>
    /// <exception cref="CacheValueTooLargeException">A value exceeds the item size limit; nothing was sent.</exception>
    [RequiresUnreferencedCode(ReflectionWarning)]
    [RequiresDynamicCode(DynamicCodeWarning)]
    public ValueTask<IReadOnlyDictionary<string, KeyOutcome<StoreResult>>> SetManyAsync<T>(IEnumerable<KeyValuePair<string, T>> items, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
    {
        var serializer = Serializer();
        return Observe("set_many").Track(SetManyCoreAsync(items, value => Encode(value, serializer), timeToLive, cancellationToken));
    }

    /// <summary>
    /// <see cref="SetManyAsync{T}(IEnumerable{KeyValuePair{string, T}}, TimeSpan?, CancellationToken)"/> with a given
    /// <see cref="JsonTypeInfo{T}"/> instead of the serializer: no reflection, AOT-safe.
    /// </summary>
    /// <typeparam name="T">The values' type.</typeparam>
    /// <param name="items">The keys and their values; a key may appear once.</param>
    /// <param name="typeInfo">How to write <typeparamref name="T"/>.</param>
    /// <param name="timeToLive">Expiry of every value; null or zero for none.</param>
    /// <param name="cancellationToken">Cancels the wait, not the stores.</param>
    /// <returns>Every key's outcome, keyed as given.</returns>
    /// <exception cref="ArgumentException">A key appears twice.</exception>
    /// <exception cref="InvalidCacheKeyException">A key breaks memcached's rules; nothing was sent.</exception>
    /// <exception cref="CacheValueTooLargeException">A value exceeds the item size limit; nothing was sent.</exception>
    public ValueTask<IReadOnlyDictionary<string, KeyOutcome<StoreResult>>> SetManyAsync<T>(IEnumerable<KeyValuePair<string, T>> items, JsonTypeInfo<T> typeInfo, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        return Observe("set_many").Track(SetManyCoreAsync(items, value => Encode(value, typeInfo), timeToLive, cancellationToken));
    }

    /// <summary>
    /// Deletes (invalidates) many keys, all requests in flight together. Each key behaves as
    /// <see cref="DeleteAsync(string, CancellationToken)"/>: its outcome comes once its delete is confirmed or its server
    /// fenced for every frontend, and the call returns when every key has one.
    /// </summary>
    /// <param name="keys">The keys; repeats are deleted once.</param>
    /// <param name="cancellationToken">Cancels the wait, never the invalidations (see <see cref="DeleteAsync(string, CancellationToken)"/>).</param>
    /// <returns>
    /// Every distinct key's outcome, keyed as given: <see cref="DeleteStatus.Deleted"/>, <see cref="DeleteStatus.NotFound"/>,
    /// <see cref="DeleteStatus.ServerFenced"/>, or an <see cref="InvalidationOwedException"/> when neither could be done
    /// (no quorum for the shared view; the journal keeps retrying, and the old value may still be readable).
    /// </returns>
    /// <exception cref="InvalidCacheKeyException">A key breaks memcached's rules; nothing was sent.</exception>
    public ValueTask<IReadOnlyDictionary<string, KeyOutcome<DeleteStatus>>> DeleteManyAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default)
        => Observe("delete_many").Track(DeleteManyCoreAsync(keys, cancellationToken));

    private async ValueTask<IReadOnlyDictionary<string, KeyOutcome<StoreResult>>> SetManyCoreAsync<T>(IEnumerable<KeyValuePair<string, T>> items, Func<T, ReadOnlyMemory<byte>> encode, TimeSpan? timeToLive, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(items);

        // Every key and value is checked before the first request is sent: a batch with a bad key sends nothing.
        var names = new List<string>(items.TryGetNonEnumeratedCount(out var count) ? count : 0);
        var keys = new List<CacheKey>(names.Capacity);
        var values = new List<ReadOnlyMemory<byte>>(names.Capacity);
        var seen = new HashSet<string>(names.Capacity, StringComparer.Ordinal);
        foreach (var (key, value) in items)
        {
            var cacheKey = Key(key);
            if (!seen.Add(key))
            {
                throw new ArgumentException($"Key '{cacheKey.Text}' appears twice in the batch: which of its values would be stored is not defined.", nameof(items));
            }

            var bytes = encode(value);
            CheckSize(cacheKey, bytes.Length);
            names.Add(key);
            keys.Add(cacheKey);
            values.Add(bytes);
        }

        var seconds = names.Count == 0 ? 0 : Seconds(timeToLive, names[0]);
        var stores = new Task<StoreResult>[keys.Count];
        for (var i = 0; i < stores.Length; i++)
        {
            stores[i] = StoreCoreAsync(keys[i], values[i], StoreMode.Set, seconds, 0, 0, null, cancellationToken).AsTask();
        }

        SendHeldRequests();

        return await OutcomesAsync(names, stores, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Every request of the batch is queued: the tail the send window holds back (it leaves once the head is answered)
    /// goes now, so the batch costs one round trip, not two.
    /// </summary>
    private void SendHeldRequests()
    {
        foreach (var node in _pool.Servers.All)
        {
            node.SendHeldRequests();
        }
    }

    private async ValueTask<IReadOnlyDictionary<string, KeyOutcome<DeleteStatus>>> DeleteManyCoreAsync(IEnumerable<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var seen = new Dictionary<string, bool>(keys.TryGetNonEnumeratedCount(out var count) ? count : 0, StringComparer.Ordinal);
        var (distinct, given) = DistinctKeys(keys, count, seen, true);
        var deletes = new Task<DeleteStatus>[distinct.Length];
        for (var i = 0; i < deletes.Length; i++)
        {
            deletes[i] = DeleteCoreAsync(distinct[i], cancellationToken).AsTask();
        }

        SendHeldRequests();

        return await OutcomesAsync(given ?? [.. distinct.Select(k => k.Text)], deletes, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Waits for every key's task and reports each one's result or error. A caller who cancels gets an
    /// <see cref="OperationCanceledException"/> for the whole batch, as for a single key; the work goes on.
    /// </summary>
    private static async Task<IReadOnlyDictionary<string, KeyOutcome<TResult>>> OutcomesAsync<TResult>(IReadOnlyList<string> names, Task<TResult>[] tasks, CancellationToken cancellationToken)
    {
        await ((Task)Task.WhenAll(tasks)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        cancellationToken.ThrowIfCancellationRequested();
        var outcomes = new Dictionary<string, KeyOutcome<TResult>>(tasks.Length, StringComparer.Ordinal);
        for (var i = 0; i < tasks.Length; i++)
        {
            var task = tasks[i];
            outcomes[names[i]] = task.IsCompletedSuccessfully
                ? new KeyOutcome<TResult>(task.Result)
                : new KeyOutcome<TResult>(task.Exception?.GetBaseException() ?? new OperationCanceledException($"The request for key '{names[i]}' was cancelled."));
        }

        return outcomes;
    }
}
