namespace Ballast.Distribution.Hashing;

/// <summary>
/// The CRC-32 of PHP <c>memcache</c> (<c>memcache.hash_function=crc32</c>): the reflected IEEE 802.3 polynomial
/// (0xEDB88320), seeded with <c>~0</c> and complemented at the end, i.e. the same value as PHP's <c>crc32()</c>.
/// </summary>
/// <remarks>
/// The extension (<c>mmc_hash_crc32_*</c> in <c>memcache_pool.c</c>) feeds each byte through PHP's <c>CRC32</c> macro,
/// which masks the index with <c>&amp; 0xff</c>, so the signedness of <c>char</c> does not leak in here (unlike FNV).
/// The extension returns the full 32 bits; only the <em>standard</em> strategy later reduces them with
/// <c>(hash &gt;&gt; 16) &amp; 0x7fff</c>, which is done by <see cref="PeclStandardLocator"/>, not here.
/// The combine/finish split mirrors the extension so that ring points can hash <c>host:port-</c> once per server.
/// </remarks>
internal static class PeclCrc32
{
    /// <summary>The seed before any byte is combined (<c>mmc_hash_crc32_init</c>).</summary>
    public const uint Seed = 0xFFFFFFFFu;

    private static readonly uint[] Table = BuildTable();

    /// <summary>CRC-32 of <paramref name="data"/>.</summary>
    public static uint Hash(ReadOnlySpan<byte> data) => Finish(Combine(Seed, data));

    /// <summary>Feeds <paramref name="data"/> into a running CRC (<c>mmc_hash_crc32_combine</c>).</summary>
    public static uint Combine(uint crc, ReadOnlySpan<byte> data)
    {
        var table = Table;
        foreach (var b in data)
        {
            crc = (crc >> 8) ^ table[(crc ^ b) & 0xFF];
        }

        return crc;
    }

    /// <summary>Final complement (<c>mmc_hash_crc32_finish</c>).</summary>
    public static uint Finish(uint crc) => ~crc;

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }

            table[i] = c;
        }

        return table;
    }
}
