using System.Globalization;
using System.Text;
using Ballast.Distribution.Hashing;

namespace Ballast.Distribution;

/// <summary>
/// PHP <c>memcache</c>'s consistent strategy (<c>memcache.hash_strategy=consistent</c>, <c>memcache_consistent_hash.c</c>).
/// </summary>
/// <remarks>
/// <para>
/// Each server contributes <c>weight * 160</c> points named <c>host:port-i</c> (i from 0; the port is always written,
/// unlike libmemcached's ketama), hashed with the configured function over all 32 bits. The sorted points are sampled
/// into a table of 1024 buckets: bucket <c>i</c> holds the server found for the value <c>i * (0xffffffff / 1024)</c>,
/// and a key goes to bucket <c>hash(key) % 1024</c>. A key is therefore never placed by its exact position on the
/// ring, only by its bucket; reproducing the ring alone would disagree with PHP.
/// </para>
/// <para>
/// The bucket search is <c>mmc_consistent_find</c> transcribed as is (including its <c>mid ? points[mid-1] : 0</c>
/// test) so that ties and edges resolve as in PHP. Equal point values keep insertion order, as glibc's merge-sort
/// <c>qsort</c> leaves them. With one server the extension skips hashing; so do we.
/// </para>
/// </remarks>
internal sealed class PeclConsistentLocator : IServerLocator
{
    /// <summary><c>MMC_CONSISTENT_POINTS</c>: points per unit of weight.</summary>
    private const int PointsPerWeight = 160;

    /// <summary><c>MMC_CONSISTENT_BUCKETS</c>: size of the precomputed lookup table (a power of two).</summary>
    private const int BucketCount = 1024;

    private readonly PeclHashFunction _hash;
    private readonly int[] _buckets;

    /// <summary>Builds the ring and bucket table over <paramref name="servers"/>, in list order.</summary>
    /// <exception cref="ArgumentException">The list is empty.</exception>
    public PeclConsistentLocator(PeclHashFunction hash, IReadOnlyList<ServerEndPoint> servers)
    {
        LocatorArguments.Validate(hash, servers);
        _hash = hash;
        ServerCount = servers.Count;

        var points = new List<(uint Point, int Order, int Server)>();
        for (var index = 0; index < servers.Count; index++)
        {
            var server = servers[index];

            // mmc_consistent_add_server hashes "host:port-" once and then combines each decimal suffix.
            var prefix = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{server.Host}:{server.Port}-"));
            var seed = PeclHash.Combine(hash, PeclHash.Seed(hash), prefix);
            var count = checked(server.Weight * PointsPerWeight);
            for (var i = 0; i < count; i++)
            {
                var suffix = Encoding.ASCII.GetBytes(i.ToString(CultureInfo.InvariantCulture));
                var point = PeclHash.Finish(hash, PeclHash.Combine(hash, seed, suffix));
                points.Add((point, points.Count, index));
            }
        }

        points.Sort(static (a, b) => a.Point != b.Point ? a.Point.CompareTo(b.Point) : a.Order.CompareTo(b.Order));
        var values = new uint[points.Count];
        var owners = new int[points.Count];
        for (var i = 0; i < points.Count; i++)
        {
            values[i] = points[i].Point;
            owners[i] = points[i].Server;
        }

        _buckets = new int[BucketCount];
        const uint step = 0xFFFFFFFFu / BucketCount;
        for (var i = 0u; i < BucketCount; i++)
        {
            _buckets[i] = owners[Find(values, step * i)];
        }
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

        return _buckets[PeclHash.Hash(_hash, key) % BucketCount];
    }

    /// <summary><c>mmc_consistent_find</c>: index of the point that owns <paramref name="point"/>.</summary>
    private static int Find(uint[] points, uint point)
    {
        int lo = 0, hi = points.Length - 1;
        while (true)
        {
            // Outside the interval, or lo >= hi: wrap around to lo.
            if (point <= points[lo] || point > points[hi])
            {
                return lo;
            }

            var mid = lo + ((hi - lo) / 2);
            if (point <= points[mid] && point > (mid != 0 ? points[mid - 1] : 0u))
            {
                return mid;
            }

            if (points[mid] < point)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
    }
}
