using Ballast.Distribution.Hashing;

namespace Ballast.Distribution;

/// <summary>
/// PHP <c>memcache</c>'s standard strategy (<c>memcache.hash_strategy=standard</c>, <c>memcache_standard_hash.c</c>).
/// </summary>
/// <remarks>
/// Each server fills <c>weight</c> consecutive buckets, in the order servers were added. A key's bucket is
/// <c>h % bucket_count</c> with <c>h = (hash(key) &gt;&gt; 16) &amp; 0x7fff</c>, and <c>h = 1</c> when that is 0. The
/// 15-bit reduction is this strategy's, not the hash function's: the consistent strategy uses all 32 bits. With one
/// server the extension skips hashing; so do we.
/// </remarks>
internal sealed class PeclStandardLocator : IServerLocator
{
    private readonly PeclHashFunction _hash;
    private readonly int[] _buckets;

    /// <summary>Builds the weighted bucket list over <paramref name="servers"/>, in list order.</summary>
    /// <exception cref="ArgumentException">The list is empty.</exception>
    public PeclStandardLocator(PeclHashFunction hash, IReadOnlyList<ServerEndPoint> servers)
    {
        LocatorArguments.Validate(hash, servers);
        _hash = hash;
        ServerCount = servers.Count;

        var buckets = new List<int>();
        for (var index = 0; index < servers.Count; index++)
        {
            for (var w = 0; w < servers[index].Weight; w++)
            {
                buckets.Add(index);
            }
        }

        _buckets = buckets.ToArray();
    }

    /// <inheritdoc />
    public int ServerCount { get; }

    /// <inheritdoc />
    public int Locate(ReadOnlySpan<byte> key)
    {
        if (ServerCount == 1)
        {
            return 0;
        }

        var hash = (PeclHash.Hash(_hash, key) >> 16) & 0x7FFFu;
        return _buckets[(hash != 0 ? hash : 1u) % (uint)_buckets.Length];
    }
}
