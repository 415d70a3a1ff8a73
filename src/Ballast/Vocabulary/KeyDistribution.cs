namespace Ballast;

/// <summary>
/// How a pool maps a key to one of its servers. Each value reproduces a PHP extension exactly, so that PHP and .NET
/// frontends sharing a pool agree on where every key lives.
/// </summary>
public enum KeyDistribution
{
    /// <summary>
    /// libmemcached's weighted ketama with MD5 key hashing: PHP <c>memcached</c> with
    /// <c>Memcached::OPT_LIBKETAMA_COMPATIBLE</c>. The default.
    /// </summary>
    Ketama = 0,

    /// <summary>PHP <c>memcache</c> with <c>memcache.hash_strategy=consistent</c> (160 points per unit of weight).</summary>
    PeclConsistent = 1,

    /// <summary>PHP <c>memcache</c> with <c>memcache.hash_strategy=standard</c> (weighted buckets).</summary>
    PeclStandard = 2,

    /// <summary>PHP <c>memcached</c>'s default: one-at-a-time hash modulo the number of servers.</summary>
    Modula = 3,
}
