namespace Ballast.Distribution.Hashing;

/// <summary>
/// The 32-bit FNV-1a of PHP <c>memcache</c> (<c>memcache.hash_function=fnv</c>, <c>mmc_hash_fnv1a_*</c> in
/// <c>memcache_pool.c</c>), including its sign-extension quirk.
/// </summary>
/// <remarks>
/// The extension does <c>seed ^= (unsigned int)*(p++)</c> on a <c>const char *</c>. On x86-64, <c>char</c> is
/// signed, so a byte of 0x80 or more is sign-extended to 0xFFFFFFxx before the XOR. Textbook FNV-1a would XOR only
/// the low byte; for ASCII keys both agree, for UTF-8 keys they place keys differently, and PHP on x86-64 is the
/// reference we match (an aarch64 build, where <c>char</c> is unsigned, would behave like the textbook). The tests
/// check this against the real extension with non-ASCII keys.
/// </remarks>
internal static class PeclFnv1a32
{
    /// <summary>FNV-1a 32-bit offset basis (<c>FNV_32_INIT</c>).</summary>
    public const uint Seed = 0x811C9DC5u;

    private const uint Prime = 0x01000193u;

    /// <summary>FNV-1a of <paramref name="data"/>, as PHP memcache computes it.</summary>
    public static uint Hash(ReadOnlySpan<byte> data) => Combine(Seed, data);

    /// <summary>Feeds <paramref name="data"/> into a running hash (<c>mmc_hash_fnv1a_combine</c>).</summary>
    public static uint Combine(uint hash, ReadOnlySpan<byte> data)
    {
        foreach (var b in data)
        {
            // (uint)(sbyte)b reproduces C's signed-char promotion: 0xD0 becomes 0xFFFFFFD0.
            hash ^= unchecked((uint)(sbyte)b);
            hash = unchecked(hash * Prime);
        }

        return hash;
    }
}
