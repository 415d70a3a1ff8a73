namespace Ballast;

/// <summary>The key hash of PHP <c>memcache</c> (<c>memcache.hash_function</c>), used by the PECL distributions.</summary>
public enum PeclHashFunction
{
    /// <summary>CRC-32, PHP memcache's default.</summary>
    Crc32 = 0,

    /// <summary>FNV-1a, 32 bits.</summary>
    Fnv = 1,
}
