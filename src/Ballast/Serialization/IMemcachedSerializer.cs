using System.Buffers;

namespace Ballast;

/// <summary>
/// Turns the values of <see cref="MemcachedClient"/>'s typed calls (<c>GetAsync&lt;T&gt;</c>, <c>SetAsync&lt;T&gt;</c>,
/// <c>SetManyAsync&lt;T&gt;</c>) into bytes and back. Set one on <see cref="MemcachedClientOptions.Serializer"/>; the
/// default is <see cref="JsonMemcachedSerializer"/> (System.Text.Json). Implementations must be thread-safe: one
/// instance serves every call of a client.
/// </summary>
/// <remarks>
/// Byte arrays, byte memory and strings never reach the serializer: the typed calls store them as the byte and string
/// overloads do (strings as UTF-8), so a value written by any overload reads back through any other.
/// </remarks>
public interface IMemcachedSerializer
{
    /// <summary>Writes <paramref name="value"/> into <paramref name="destination"/>.</summary>
    /// <typeparam name="T">The value's type, as the caller wrote it.</typeparam>
    /// <param name="value">The value.</param>
    /// <param name="destination">Where the bytes go; the client stores exactly what was written.</param>
    void Serialize<T>(T value, IBufferWriter<byte> destination);

    /// <summary>Reads a <typeparamref name="T"/> from <paramref name="source"/>.</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="source">The stored bytes.</param>
    /// <returns>The value.</returns>
    /// <remarks>
    /// Throw when the bytes are not a <typeparamref name="T"/> (written by another version of the application, say):
    /// the client logs it and reads the key as a miss, so the caller goes to the source and may store a fresh value.
    /// </remarks>
    T Deserialize<T>(ReadOnlySpan<byte> source);
}
