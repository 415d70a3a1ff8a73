namespace Ballast.Extensions;

/// <summary>
/// Settings of <see cref="BallastDistributedCache"/>, bound from configuration by
/// <c>services.AddBallastDistributedCache(configuration.GetSection("DistributedCache"))</c> (keys <c>KeyPrefix</c> and
/// <c>ClientName</c>) and validated when the host starts.
/// </summary>
public sealed class BallastDistributedCacheOptions
{
    /// <summary>The named client (<c>AddBallast(name, ...)</c>) the cache uses. Default null: the default client.</summary>
    public string? ClientName { get; set; }

    /// <summary>
    /// Prepended to every key, to keep the cache's entries apart from other users of the pool. Default empty.
    /// Keys that memcached cannot take as they are (spaces, control characters, over 250 bytes with the prefix)
    /// are stored under the prefix and a SHA-256 of the key. The prefix itself must be a valid memcached key part: no
    /// spaces or control characters, at most 206 bytes of UTF-8.
    /// </summary>
    public string KeyPrefix { get; set; } = string.Empty;
}
