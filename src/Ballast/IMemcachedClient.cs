using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text.Json.Serialization.Metadata;

namespace Ballast;

/// <summary>
/// The operations of <see cref="MemcachedClient"/>, for code that takes a client as a dependency and for its tests.
/// <c>AddBallast</c> registers the client as both. Each member behaves as its <see cref="MemcachedClient"/> namesake.
/// </summary>
public interface IMemcachedClient : IAsyncDisposable, IDisposable
{
    /// <inheritdoc cref="MemcachedClient.ServerFailed"/>
    event EventHandler<ServerFailedEventArgs>? ServerFailed;

    /// <inheritdoc cref="MemcachedClient.ServerRecovered"/>
    event EventHandler<ServerRecoveredEventArgs>? ServerRecovered;

    /// <inheritdoc cref="MemcachedClient.Policy"/>
    FailoverPolicy Policy { get; }

    /// <inheritdoc cref="MemcachedClient.PoolName"/>
    string PoolName { get; }

    /// <inheritdoc cref="MemcachedClient.Servers"/>
    IReadOnlyList<ServerEndPoint> Servers { get; }

    /// <inheritdoc cref="MemcachedClient.IsSharedViewFresh"/>
    bool IsSharedViewFresh { get; }

    /// <inheritdoc cref="MemcachedClient.IsStarting"/>
    bool IsStarting { get; }

    /// <inheritdoc cref="MemcachedClient.SharedViewAge"/>
    TimeSpan? SharedViewAge { get; }

    /// <inheritdoc cref="MemcachedClient.PendingInvalidationCount"/>
    int PendingInvalidationCount { get; }

    /// <inheritdoc cref="MemcachedClient.GetAsync(string, CancellationToken)"/>
    ValueTask<GetResult> GetAsync(string key, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="MemcachedClient.GetAsync(string, IBufferWriter{byte}, CancellationToken)"/>
    ValueTask<BufferedGetResult> GetAsync(string key, IBufferWriter<byte> destination, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="MemcachedClient.GetAsync{T}(string, CancellationToken)"/>
    [RequiresUnreferencedCode("The default serializer (System.Text.Json) reflects over T unless MemcachedClientOptions.JsonSerializerOptions carries a source-generated resolver; for AOT pass a JsonTypeInfo<T>.")]
    [RequiresDynamicCode("System.Text.Json may generate code for T at run time; for AOT pass a JsonTypeInfo<T>.")]
    ValueTask<GetResult<T>> GetAsync<T>(string key, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="MemcachedClient.GetAsync{T}(string, JsonTypeInfo{T}, CancellationToken)"/>
    ValueTask<GetResult<T>> GetAsync<T>(string key, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="MemcachedClient.GetStringAsync(string, CancellationToken)"/>
    ValueTask<string?> GetStringAsync(string key, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="MemcachedClient.GetForRefillAsync(string, CancellationToken)"/>
    ValueTask<GetResult> GetForRefillAsync(string key, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="MemcachedClient.GetManyAsync(IEnumerable{string}, CancellationToken)"/>
    ValueTask<IReadOnlyDictionary<string, GetResult>> GetManyAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="MemcachedClient.GetAndTouchAsync(string, TimeSpan, CancellationToken)"/>
    ValueTask<GetResult> GetAndTouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="MemcachedClient.GetAndTouchAsync(string, TimeSpan, IBufferWriter{byte}, CancellationToken)"/>
    ValueTask<BufferedGetResult> GetAndTouchAsync(string key, TimeSpan timeToLive, IBufferWriter<byte> destination, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="MemcachedClient.GetMetadataAsync(string, TimeSpan?, CancellationToken)"/>
    ValueTask<BufferedGetResult> GetMetadataAsync(string key, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="MemcachedClient.GetOrCreateAsync{T}(string, Func{CancellationToken, ValueTask{T}}, TimeSpan?, CancellationToken)"/>
    [RequiresUnreferencedCode("System.Text.Json reflects over T unless MemcachedClientOptions.JsonSerializerOptions carries a source-generated resolver; for AOT pass a JsonTypeInfo<T>.")]
    [RequiresDynamicCode("System.Text.Json may generate code for T at run time; for AOT pass a JsonTypeInfo<T>.")]
    ValueTask<T> GetOrCreateAsync<T>(string key, Func<CancellationToken, ValueTask<T>> factory, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="MemcachedClient.GetOrCreateAsync{T}(string, Func{CancellationToken, ValueTask{T}}, JsonTypeInfo{T}, TimeSpan?, CancellationToken)"/>
    ValueTask<T> GetOrCreateAsync<T>(string key, Func<CancellationToken, ValueTask<T>> factory, JsonTypeInfo<T> typeInfo, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="MemcachedClient.SetAsync(string, ReadOnlyMemory{byte}, TimeSpan?, uint, CancellationToken)"/>
    [OverloadResolutionPriority(1)]
    ValueTask<StoreResult> SetAsync(string key, ReadOnlyMemory<byte> value, TimeSpan? timeToLive = null, uint flags = 0, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="MemcachedClient.SetAsync(string, string, TimeSpan?, CancellationToken)"/>
    [OverloadResolutionPriority(1)]
    ValueTask<StoreResult> SetAsync(string key, string value, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="MemcachedClient.SetAsync{T}(string, T, TimeSpan?, CancellationToken)"/>
    [RequiresUnreferencedCode("The default serializer (System.Text.Json) reflects over T unless MemcachedClientOptions.JsonSerializerOptions carries a source-generated resolver; for AOT pass a JsonTypeInfo<T>.")]
    [RequiresDynamicCode("System.Text.Json may generate code for T at run time; for AOT pass a JsonTypeInfo<T>.")]
    ValueTask<StoreResult> SetAsync<T>(string key, T value, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="MemcachedClient.SetAsync{T}(string, T, JsonTypeInfo{T}, TimeSpan?, CancellationToken)"/>
    ValueTask<StoreResult> SetAsync<T>(string key, T value, JsonTypeInfo<T> typeInfo, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="MemcachedClient.SetManyAsync(IEnumerable{KeyValuePair{string, ReadOnlyMemory{byte}}}, TimeSpan?, CancellationToken)"/>
    ValueTask<IReadOnlyDictionary<string, KeyOutcome<StoreResult>>> SetManyAsync(IEnumerable<KeyValuePair<string, ReadOnlyMemory<byte>>> items, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="MemcachedClient.SetManyAsync{T}(IEnumerable{KeyValuePair{string, T}}, TimeSpan?, CancellationToken)"/>
    [RequiresUnreferencedCode("The default serializer (System.Text.Json) reflects over T unless MemcachedClientOptions.JsonSerializerOptions carries a source-generated resolver; for AOT pass a JsonTypeInfo<T>.")]
    [RequiresDynamicCode("System.Text.Json may generate code for T at run time; for AOT pass a JsonTypeInfo<T>.")]
    ValueTask<IReadOnlyDictionary<string, KeyOutcome<StoreResult>>> SetManyAsync<T>(IEnumerable<KeyValuePair<string, T>> items, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="MemcachedClient.SetManyAsync{T}(IEnumerable{KeyValuePair{string, T}}, JsonTypeInfo{T}, TimeSpan?, CancellationToken)"/>
    ValueTask<IReadOnlyDictionary<string, KeyOutcome<StoreResult>>> SetManyAsync<T>(IEnumerable<KeyValuePair<string, T>> items, JsonTypeInfo<T> typeInfo, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="MemcachedClient.SetVersionedAsync(string, ReadOnlyMemory{byte}, long, TimeSpan?, CancellationToken)"/>
    ValueTask<StoreResult> SetVersionedAsync(string key, ReadOnlyMemory<byte> value, long version, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="MemcachedClient.AddAsync(string, ReadOnlyMemory{byte}, TimeSpan?, uint, CancellationToken)"/>
    ValueTask<StoreResult> AddAsync(string key, ReadOnlyMemory<byte> value, TimeSpan? timeToLive = null, uint flags = 0, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="MemcachedClient.ReplaceAsync(string, ReadOnlyMemory{byte}, TimeSpan?, uint, CancellationToken)"/>
    ValueTask<StoreResult> ReplaceAsync(string key, ReadOnlyMemory<byte> value, TimeSpan? timeToLive = null, uint flags = 0, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="MemcachedClient.AppendAsync(string, ReadOnlyMemory{byte}, CancellationToken)"/>
    ValueTask<StoreResult> AppendAsync(string key, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="MemcachedClient.PrependAsync(string, ReadOnlyMemory{byte}, CancellationToken)"/>
    ValueTask<StoreResult> PrependAsync(string key, ReadOnlyMemory<byte> value, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="MemcachedClient.CompareAndSwapAsync(string, ReadOnlyMemory{byte}, ulong, TimeSpan?, uint, CancellationToken)"/>
    ValueTask<StoreResult> CompareAndSwapAsync(string key, ReadOnlyMemory<byte> value, ulong cas, TimeSpan? timeToLive = null, uint flags = 0, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="MemcachedClient.RefillAsync(string, ReadOnlyMemory{byte}, RefillLease, TimeSpan?, CancellationToken)"/>
    ValueTask<StoreResult> RefillAsync(string key, ReadOnlyMemory<byte> value, RefillLease lease, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="MemcachedClient.DeleteAsync(string, CancellationToken)"/>
    ValueTask<DeleteStatus> DeleteAsync(string key, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="MemcachedClient.DeleteManyAsync(IEnumerable{string}, CancellationToken)"/>
    ValueTask<IReadOnlyDictionary<string, KeyOutcome<DeleteStatus>>> DeleteManyAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="MemcachedClient.MarkStaleAsync(string, TimeSpan, CancellationToken)"/>
    ValueTask<bool> MarkStaleAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="MemcachedClient.IncrementAsync(string, ulong, ulong?, TimeSpan?, CancellationToken)"/>
    ValueTask<CounterResult> IncrementAsync(string key, ulong delta = 1, ulong? initial = null, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="MemcachedClient.DecrementAsync(string, ulong, ulong?, TimeSpan?, CancellationToken)"/>
    ValueTask<CounterResult> DecrementAsync(string key, ulong delta = 1, ulong? initial = null, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="MemcachedClient.TouchAsync(string, TimeSpan, CancellationToken)"/>
    ValueTask<bool> TouchAsync(string key, TimeSpan timeToLive, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="MemcachedClient.Locate(string)"/>
    ServerEndPoint Locate(string key);

    /// <inheritdoc cref="MemcachedClient.GetServerState(ServerEndPoint)"/>
    ServerState GetServerState(ServerEndPoint server);

    /// <inheritdoc cref="MemcachedClient.FlushAllAsync(TimeSpan?, CancellationToken)"/>
    Task FlushAllAsync(TimeSpan? delay = null, CancellationToken cancellationToken = default);

    /// <inheritdoc cref="MemcachedClient.VersionAsync(CancellationToken)"/>
    Task<IReadOnlyDictionary<ServerEndPoint, string>> VersionAsync(CancellationToken cancellationToken = default);

    /// <inheritdoc cref="MemcachedClient.StatsAsync(CancellationToken)"/>
    Task<IReadOnlyList<ServerStatistics>> StatsAsync(CancellationToken cancellationToken = default);
}
