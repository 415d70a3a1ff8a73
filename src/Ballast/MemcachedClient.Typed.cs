using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json.Serialization.Metadata;
using Ballast.Diagnostics;
using Ballast.Serialization;

namespace Ballast;

/// <summary>
/// Typed reads and writes: values go through <see cref="MemcachedClientOptions.Serializer"/> (System.Text.Json by
/// default), or through a given <see cref="JsonTypeInfo{T}"/> (no reflection: trimming and native AOT).
/// </summary>
/// <remarks>
/// Byte arrays, byte memory and strings are stored as they are (strings as UTF-8), exactly as the byte and string
/// overloads store them, whatever the serializer: generic code that calls <c>SetAsync&lt;T&gt;</c> with
/// <c>T = byte[]</c> stores the same bytes as the byte overload, and every overload reads what any other wrote.
/// (Called directly, the byte and string overloads win overload resolution: they carry a higher
/// <see cref="System.Runtime.CompilerServices.OverloadResolutionPriorityAttribute"/>.)
/// </remarks>
public sealed partial class MemcachedClient
{
    private const string ReflectionWarning = "The default serializer (System.Text.Json) reflects over T unless MemcachedClientOptions.JsonSerializerOptions carries a source-generated resolver; for AOT pass a JsonTypeInfo<T>.";
    private const string DynamicCodeWarning = "System.Text.Json may generate code for T at run time; for AOT pass a JsonTypeInfo<T>.";

    private IMemcachedSerializer? _serializer;

    /// <summary>
    /// Reads a key as a <typeparamref name="T"/>, through <see cref="MemcachedClientOptions.Serializer"/>. A down,
    /// stalled or fenced server gives a miss, as with <see cref="GetAsync(string, CancellationToken)"/>; so does a value
    /// the serializer cannot read as a <typeparamref name="T"/> (it is logged).
    /// </summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <exception cref="InvalidCacheKeyException">The key breaks memcached's rules.</exception>
    [RequiresUnreferencedCode(ReflectionWarning)]
    [RequiresDynamicCode(DynamicCodeWarning)]
    public async ValueTask<GetResult<T>> GetAsync<T>(string key, CancellationToken cancellationToken = default)
    {
        var serializer = Serializer();
        var read = await GetAsync(key, cancellationToken).ConfigureAwait(false);
        return Decode(key, read, static (bytes, serializer) => serializer.Deserialize<T>(bytes), serializer);
    }

    /// <summary>
    /// <see cref="GetAsync{T}(string, CancellationToken)"/> with a given <see cref="JsonTypeInfo{T}"/> (from a
    /// source-generated <c>JsonSerializerContext</c>) instead of the serializer: no reflection, AOT-safe.
    /// </summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="typeInfo">How to read <typeparamref name="T"/>.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <exception cref="InvalidCacheKeyException">The key breaks memcached's rules.</exception>
    public async ValueTask<GetResult<T>> GetAsync<T>(string key, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        var read = await GetAsync(key, cancellationToken).ConfigureAwait(false);
        return Decode(key, read, static (bytes, typeInfo) => JsonValueCodec.Deserialize(bytes, typeInfo), typeInfo);
    }

    /// <summary>
    /// Stores a <typeparamref name="T"/> unconditionally, through <see cref="MemcachedClientOptions.Serializer"/>
    /// (client flags 0, so PHP reads JSON values as strings). Behaves as
    /// <see cref="SetAsync(string, ReadOnlyMemory{byte}, TimeSpan?, uint, CancellationToken)"/> otherwise.
    /// </summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="timeToLive">Expiry; null or zero for none.</param>
    /// <param name="cancellationToken">Cancels the wait, not the store.</param>
    /// <returns><see cref="StoreStatus.Stored"/>, or <see cref="StoreStatus.ServerDown"/> when the key's server is down and the policy stores nowhere else.</returns>
    /// <exception cref="CacheValueTooLargeException">The serialized value exceeds the item size limit; nothing was sent.</exception>
    /// <exception cref="MemcachedException">The store's fate is unknown; the key has been invalidated or its server fenced.</exception>
    [RequiresUnreferencedCode(ReflectionWarning)]
    [RequiresDynamicCode(DynamicCodeWarning)]
    public ValueTask<StoreResult> SetAsync<T>(string key, T value, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
        => SetAsync(key, Encode(value, Serializer()), timeToLive, 0, cancellationToken);

    /// <summary>
    /// <see cref="SetAsync{T}(string, T, TimeSpan?, CancellationToken)"/> with a given <see cref="JsonTypeInfo{T}"/>
    /// instead of the serializer: no reflection, AOT-safe.
    /// </summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="typeInfo">How to write <typeparamref name="T"/>.</param>
    /// <param name="timeToLive">Expiry; null or zero for none.</param>
    /// <param name="cancellationToken">Cancels the wait, not the store.</param>
    /// <exception cref="CacheValueTooLargeException">The serialized value exceeds the item size limit; nothing was sent.</exception>
    /// <exception cref="MemcachedException">The store's fate is unknown; the key has been invalidated or its server fenced.</exception>
    public ValueTask<StoreResult> SetAsync<T>(string key, T value, JsonTypeInfo<T> typeInfo, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        return SetAsync(key, Encode(value, typeInfo), timeToLive, 0, cancellationToken);
    }

    /// <summary>The serializer of the typed calls: the configured one, else System.Text.Json with the client's JSON options.</summary>
    [RequiresUnreferencedCode(ReflectionWarning)]
    [RequiresDynamicCode(DynamicCodeWarning)]
    private IMemcachedSerializer Serializer()
        => _serializer ??= _options.Serializer ?? new JsonMemcachedSerializer(_options.JsonSerializerOptions);

    /// <summary>Bytes for a typed value: byte arrays, byte memory and strings as they are, anything else serialized.</summary>
    private static ReadOnlyMemory<byte> Encode<T>(T value, IMemcachedSerializer serializer)
    {
        if (TryRaw(value, out var raw))
        {
            return raw;
        }

        var buffer = new ArrayBufferWriter<byte>();
        serializer.Serialize(value, buffer);
        return buffer.WrittenMemory;
    }

    /// <summary>Bytes for a typed value: byte arrays, byte memory and strings as they are, anything else as JSON.</summary>
    private static ReadOnlyMemory<byte> Encode<T>(T value, JsonTypeInfo<T> typeInfo)
        => TryRaw(value, out var raw) ? raw : JsonValueCodec.Serialize(value, typeInfo);

    /// <summary>
    /// A typed value from a read. A value that does not read as a <typeparamref name="T"/> (another type under the same
    /// key, an older layout) is a miss, logged, as <c>GetOrCreateAsync</c> treats it: the caller goes to the source.
    /// </summary>
    private GetResult<T> Decode<T, TState>(string key, GetResult read, Func<byte[], TState, T> deserialize, TState state)
    {
        if (read.Value is not { } bytes)
        {
            return GetResult<T>.Miss;
        }

        if (TryFromRaw<T>(bytes, out var raw))
        {
            return new GetResult<T>(raw, read.Flags, read.Cas);
        }

        try
        {
            return new GetResult<T>(deserialize(bytes, state), read.Flags, read.Cas);
        }
#pragma warning disable CA1031 // Whatever a serializer throws for bytes it cannot read, the read is a miss, and logged.
        catch (Exception error) when (error is not OperationCanceledException)
#pragma warning restore CA1031
        {
            _options.Logger.CachedValueUnreadableAsMiss(error, key, typeof(T).Name);
            return GetResult<T>.Miss;
        }
    }

    private static bool TryRaw<T>(T value, out ReadOnlyMemory<byte> bytes)
    {
        switch (value)
        {
            case byte[] array:
                bytes = array;
                return true;
            case ReadOnlyMemory<byte> memory:
                bytes = memory;
                return true;
            case Memory<byte> memory:
                bytes = memory;
                return true;
            case ArraySegment<byte> segment:
                bytes = segment;
                return true;
            case string text:
                bytes = Encoding.UTF8.GetBytes(text);
                return true;
            default:
                bytes = default;
                return false;
        }
    }

    private static bool TryFromRaw<T>(byte[] bytes, out T value)
    {
        object? raw = typeof(T) == typeof(byte[]) ? bytes
            : typeof(T) == typeof(ReadOnlyMemory<byte>) ? new ReadOnlyMemory<byte>(bytes)
            : typeof(T) == typeof(Memory<byte>) ? new Memory<byte>(bytes)
            : typeof(T) == typeof(ArraySegment<byte>) ? new ArraySegment<byte>(bytes)
            : typeof(T) == typeof(string) ? Encoding.UTF8.GetString(bytes)
            : null;
        value = raw is null ? default! : (T)raw;
        return raw is not null;
    }
}
