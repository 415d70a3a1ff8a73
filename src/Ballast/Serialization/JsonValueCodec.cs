using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Ballast.Serialization;

/// <summary>
/// How <c>GetOrCreateAsync</c> and the typed calls given a <see cref="JsonTypeInfo{T}"/> turn values into bytes and back: System.Text.Json through a <see cref="JsonTypeInfo{T}"/>,
/// which a source-generated context supplies without reflection (native AOT), or which the reflection resolver builds.
/// </summary>
internal static class JsonValueCodec
{
    /// <summary>The type info for <typeparamref name="T"/> from <paramref name="options"/> (reflection unless they carry a source-generated resolver).</summary>
    [RequiresUnreferencedCode("Without a source-generated JsonTypeInfo, System.Text.Json reflects over the value's type.")]
    [RequiresDynamicCode("Without a source-generated JsonTypeInfo, System.Text.Json may generate code at run time.")]
    public static JsonTypeInfo<T> TypeInfo<T>(JsonSerializerOptions? options)
        => (JsonTypeInfo<T>)WithResolver(options).GetTypeInfo(typeof(T));

    /// <summary>
    /// <paramref name="options"/> (<see cref="JsonSerializerOptions.Default"/> when null), read-only, with the reflection
    /// resolver when they carry none.
    /// </summary>
    [RequiresUnreferencedCode("Without a source-generated JsonTypeInfo, System.Text.Json reflects over the value's type.")]
    [RequiresDynamicCode("Without a source-generated JsonTypeInfo, System.Text.Json may generate code at run time.")]
    public static JsonSerializerOptions WithResolver(JsonSerializerOptions? options)
    {
        options ??= JsonSerializerOptions.Default;
        if (options.TypeInfoResolver is null)
        {
            options = new JsonSerializerOptions(options) { TypeInfoResolver = new DefaultJsonTypeInfoResolver() };
        }

        options.MakeReadOnly();
        return options;
    }

    public static byte[] Serialize<T>(T value, JsonTypeInfo<T> typeInfo) => JsonSerializer.SerializeToUtf8Bytes(value, typeInfo);

    public static T Deserialize<T>(ReadOnlySpan<byte> bytes, JsonTypeInfo<T> typeInfo) => JsonSerializer.Deserialize(bytes, typeInfo)!;
}
