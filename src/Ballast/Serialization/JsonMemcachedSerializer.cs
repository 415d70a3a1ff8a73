using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Ballast;

/// <summary>
/// The default <see cref="IMemcachedSerializer"/>: System.Text.Json, with the type information of the given
/// <see cref="JsonSerializerOptions"/>. Values are UTF-8 JSON, so PHP and other clients of the pool read them as JSON
/// strings. For native AOT and trimming, call the client's overloads that take a <see cref="JsonTypeInfo{T}"/> from a
/// source-generated <c>JsonSerializerContext</c>.
/// </summary>
public sealed class JsonMemcachedSerializer : IMemcachedSerializer
{
    private readonly JsonSerializerOptions _options;

    /// <summary>Creates the serializer.</summary>
    /// <param name="options">
    /// The System.Text.Json settings. Default null: <see cref="JsonSerializerOptions.Default"/>. (The client's default
    /// serializer uses <see cref="MemcachedClientOptions.JsonSerializerOptions"/>.)
    /// </param>
    [RequiresUnreferencedCode("System.Text.Json reflects over the values' types unless the options carry a source-generated resolver; for AOT pass a JsonTypeInfo<T> to the client's calls.")]
    [RequiresDynamicCode("System.Text.Json may generate code for the values' types at run time; for AOT pass a JsonTypeInfo<T> to the client's calls.")]
    public JsonMemcachedSerializer(JsonSerializerOptions? options = null)
    {
        _options = Serialization.JsonValueCodec.WithResolver(options);
    }

    /// <inheritdoc />
    public void Serialize<T>(T value, IBufferWriter<byte> destination)
    {
        using var writer = new Utf8JsonWriter(destination);
        JsonSerializer.Serialize(writer, value, TypeInfo<T>());
    }

    /// <inheritdoc />
    /// <exception cref="JsonException">The bytes are not JSON of a <typeparamref name="T"/>.</exception>
    public T Deserialize<T>(ReadOnlySpan<byte> source) => JsonSerializer.Deserialize(source, TypeInfo<T>())!;

    private JsonTypeInfo<T> TypeInfo<T>() => (JsonTypeInfo<T>)_options.GetTypeInfo(typeof(T));
}
