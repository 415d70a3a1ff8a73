namespace Ballast.Extensions;

/// <summary>Settings of <see cref="BallastDistributedCache"/>.</summary>
public sealed class BallastDistributedCacheOptions
{
    /// <summary>The named client (<c>AddBallast(name, ...)</c>) the cache uses. Default null: the default client.</summary>
    public string? ClientName { get; set; }

    /// <summary>
    /// Prepended to every key, to keep the cache's entries apart from other users of the pool. Default empty.
    /// Keys that memcached cannot take as they are (spaces, control characters, over 250 bytes with the prefix)
    /// are stored under the prefix and a SHA-256 of the key.
    /// </summary>
    public string KeyPrefix { get; set; } = string.Empty;
}
