namespace Ballast.Distribution.Hashing;

/// <summary>
/// Dispatches to the hash PHP <c>memcache</c> is configured with (<c>memcache.hash_function</c>), in the extension's
/// init/combine/finish shape (<c>mmc_hash_function_t</c>).
/// </summary>
/// <remarks>
/// A switch on an enum rather than a delegate keeps lookups free of indirection and allocation; the shape lets the
/// consistent strategy hash the shared <c>host:port-</c> prefix of a server's points once, as the extension does.
/// </remarks>
internal static class PeclHash
{
    /// <summary>The initial state of <paramref name="function"/>.</summary>
    public static uint Seed(PeclHashFunction function) => function switch
    {
        PeclHashFunction.Crc32 => PeclCrc32.Seed,
        PeclHashFunction.Fnv => PeclFnv1a32.Seed,
        _ => throw Unknown(function),
    };

    /// <summary>Feeds <paramref name="data"/> into the running state <paramref name="state"/>.</summary>
    public static uint Combine(PeclHashFunction function, uint state, ReadOnlySpan<byte> data) => function switch
    {
        PeclHashFunction.Crc32 => PeclCrc32.Combine(state, data),
        PeclHashFunction.Fnv => PeclFnv1a32.Combine(state, data),
        _ => throw Unknown(function),
    };

    /// <summary>Turns a running state into the hash value.</summary>
    public static uint Finish(PeclHashFunction function, uint state) => function switch
    {
        PeclHashFunction.Crc32 => PeclCrc32.Finish(state),
        PeclHashFunction.Fnv => state,
        _ => throw Unknown(function),
    };

    /// <summary>The full 32-bit hash of <paramref name="data"/> (<c>mmc_hash</c>).</summary>
    public static uint Hash(PeclHashFunction function, ReadOnlySpan<byte> data) => function switch
    {
        PeclHashFunction.Crc32 => PeclCrc32.Hash(data),
        PeclHashFunction.Fnv => PeclFnv1a32.Hash(data),
        _ => throw Unknown(function),
    };

    private static ArgumentOutOfRangeException Unknown(PeclHashFunction function) =>
        new(nameof(function), function, "Unknown PHP memcache hash function.");
}
