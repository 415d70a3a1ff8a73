namespace Ballast.Distribution.Hashing;

/// <summary>
/// Bob Jenkins' one-at-a-time hash exactly as libmemcached's <c>hashkit_one_at_a_time</c> computes it; this is
/// <c>MEMCACHED_HASH_DEFAULT</c>, the key hash of PHP <c>memcached</c>'s default (modula) distribution.
/// </summary>
/// <remarks>
/// libmemcached reads the key through a <c>const char *</c> and does <c>(uint32_t) *ptr</c>; <c>char</c> is signed on
/// x86-64, so bytes of 0x80 and above are sign-extended before being added. Non-ASCII (UTF-8) keys therefore hash
/// differently from the textbook algorithm, and we reproduce libmemcached on x86-64, not the textbook (an aarch64
/// build, where <c>char</c> is unsigned, would agree with the textbook).
/// </remarks>
internal static class OneAtATimeHash
{
    /// <summary>One-at-a-time hash of <paramref name="data"/>.</summary>
    public static uint Hash(ReadOnlySpan<byte> data)
    {
        uint value = 0;
        foreach (var b in data)
        {
            unchecked
            {
                value += (uint)(sbyte)b;
                value += value << 10;
                value ^= value >> 6;
            }
        }

        unchecked
        {
            value += value << 3;
            value ^= value >> 11;
            value += value << 15;
        }

        return value;
    }
}
