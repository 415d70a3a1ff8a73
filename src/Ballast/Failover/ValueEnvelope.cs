using System.Buffers.Binary;

namespace Ballast.Failover;

/// <summary>
/// The 10-byte header Ballast puts in front of values that need more than the bytes: a gutter entry carries the
/// epoch of the outage it was written in, a replicated value carries its version, and a tombstone marks a delete
/// with the version it happened at. Values of Offline and Rehash pools carry no envelope, so PHP clients read them as
/// plain strings.
/// </summary>
internal static class ValueEnvelope
{
    public const int HeaderLength = 10;
    private const byte Magic = 0xBA;

    public static byte[] Wrap(EnvelopeKind kind, long stamp, ReadOnlySpan<byte> value)
    {
        var bytes = new byte[HeaderLength + value.Length];
        bytes[0] = Magic;
        bytes[1] = (byte)kind;
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(2), stamp);
        value.CopyTo(bytes.AsSpan(HeaderLength));
        return bytes;
    }

    /// <summary>Reads the header; false when the bytes carry none (written by something else, or a lease placeholder).</summary>
    public static bool TryUnwrap(byte[] stored, out EnvelopeKind kind, out long stamp, out byte[] value)
    {
        kind = default;
        stamp = 0;
        value = [];
        if (stored.Length < HeaderLength || stored[0] != Magic || !Enum.IsDefined((EnvelopeKind)stored[1]))
        {
            return false;
        }

        kind = (EnvelopeKind)stored[1];
        stamp = BinaryPrimitives.ReadInt64BigEndian(stored.AsSpan(2));
        value = stored.AsSpan(HeaderLength).ToArray();
        return true;
    }
}
