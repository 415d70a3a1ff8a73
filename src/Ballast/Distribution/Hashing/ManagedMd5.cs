using System.Buffers.Binary;
using System.Numerics;

namespace Ballast.Distribution.Hashing;

/// <summary>
/// MD5 (RFC 1321) in managed code, for hashing one short key per request. The platform's <c>MD5.HashData</c> goes
/// through the native crypto library, whose per-call cost dwarfs the hash of a key of a few dozen bytes; this one
/// runs one or two compression rounds on the stack. Its output is checked against <c>MD5.HashData</c> by the tests.
/// </summary>
internal static class ManagedMd5
{
    public const int HashSizeInBytes = 16;

    private static readonly uint[] K = CreateConstants();

    private static readonly int[] Shifts =
    [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
        5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
        4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
        6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];

    /// <summary>Writes the 16-byte MD5 digest of <paramref name="data"/> into <paramref name="digest"/>.</summary>
    public static void HashData(ReadOnlySpan<byte> data, Span<byte> digest)
    {
        uint a = 0x67452301, b = 0xefcdab89, c = 0x98badcfe, d = 0x10325476;
        var whole = data.Length / 64 * 64;
        for (var offset = 0; offset < whole; offset += 64)
        {
            Compress(data.Slice(offset, 64), ref a, ref b, ref c, ref d);
        }

        // Padding: 0x80, zeros, then the length in bits (little-endian), in one or two final blocks.
        Span<byte> tail = stackalloc byte[128];
        tail.Clear();
        var rest = data.Length - whole;
        data[whole..].CopyTo(tail);
        tail[rest] = 0x80;
        var tailLength = rest + 1 + 8 <= 64 ? 64 : 128;
        BinaryPrimitives.WriteUInt64LittleEndian(tail.Slice(tailLength - 8, 8), (ulong)data.Length * 8);
        for (var offset = 0; offset < tailLength; offset += 64)
        {
            Compress(tail.Slice(offset, 64), ref a, ref b, ref c, ref d);
        }

        BinaryPrimitives.WriteUInt32LittleEndian(digest, a);
        BinaryPrimitives.WriteUInt32LittleEndian(digest[4..], b);
        BinaryPrimitives.WriteUInt32LittleEndian(digest[8..], c);
        BinaryPrimitives.WriteUInt32LittleEndian(digest[12..], d);
    }

    private static void Compress(ReadOnlySpan<byte> block, ref uint a0, ref uint b0, ref uint c0, ref uint d0)
    {
        Span<uint> m = stackalloc uint[16];
        for (var i = 0; i < 16; i++)
        {
            m[i] = BinaryPrimitives.ReadUInt32LittleEndian(block.Slice(i * 4, 4));
        }

        uint a = a0, b = b0, c = c0, d = d0;
        for (var i = 0; i < 64; i++)
        {
            uint f;
            int g;
            if (i < 16)
            {
                f = (b & c) | (~b & d);
                g = i;
            }
            else if (i < 32)
            {
                f = (d & b) | (~d & c);
                g = ((5 * i) + 1) & 15;
            }
            else if (i < 48)
            {
                f = b ^ c ^ d;
                g = ((3 * i) + 5) & 15;
            }
            else
            {
                f = c ^ (b | ~d);
                g = (7 * i) & 15;
            }

            f = f + a + K[i] + m[g];
            a = d;
            d = c;
            c = b;
            b += BitOperations.RotateLeft(f, Shifts[i]);
        }

        a0 += a;
        b0 += b;
        c0 += c;
        d0 += d;
    }

    // K[i] = floor(|sin(i + 1)| * 2^32), as RFC 1321 defines the table.
    private static uint[] CreateConstants()
    {
        var k = new uint[64];
        for (var i = 0; i < 64; i++)
        {
            k[i] = (uint)(long)Math.Floor(Math.Abs(Math.Sin(i + 1)) * 4294967296.0);
        }

        return k;
    }
}
