using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Ballast.Distribution.Hashing;

/// <summary>
/// The MD5-derived 32-bit values libmemcached's ketama uses: for keys (<c>hashkit_md5</c>) and for continuum points
/// (<c>ketama_server_hash</c>).
/// </summary>
/// <remarks>
/// Both take 4 bytes of the 16-byte digest and assemble them little-endian (<c>results[3] &lt;&lt; 24 | ... |
/// results[0]</c>), independent of the machine's byte order. The key hash uses bytes 0..3; a continuum digest yields four
/// points from bytes 0..3, 4..7, 8..11 and 12..15. The digest goes into a stack buffer so a lookup allocates nothing.
/// </remarks>
internal static class KetamaMd5
{
    /// <summary>The key hash: the first four digest bytes, little-endian.</summary>
    public static uint Hash(ReadOnlySpan<byte> data)
    {
        // Per request: the managed MD5 avoids the native call's overhead on a short key.
        Span<byte> digest = stackalloc byte[ManagedMd5.HashSizeInBytes];
        ManagedMd5.HashData(data, digest);
        return BinaryPrimitives.ReadUInt32LittleEndian(digest);
    }

    /// <summary>Writes the four continuum points of <paramref name="data"/> (alignments 0 to 3) into <paramref name="points"/>.</summary>
    public static void Points(ReadOnlySpan<byte> data, Span<uint> points)
    {
        Span<byte> digest = stackalloc byte[MD5.HashSizeInBytes];
        MD5.HashData(data, digest);
        for (var alignment = 0; alignment < 4; alignment++)
        {
            points[alignment] = BinaryPrimitives.ReadUInt32LittleEndian(digest.Slice(alignment * 4, 4));
        }
    }
}
