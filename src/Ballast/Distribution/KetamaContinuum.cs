using System.Globalization;
using System.Text;
using Ballast.Distribution.Hashing;

namespace Ballast.Distribution;

/// <summary>
/// libmemcached's weighted ketama continuum, as PHP <c>memcached</c> builds it with
/// <c>Memcached::OPT_LIBKETAMA_COMPATIBLE =&gt; true</c>.
/// </summary>
/// <remarks>
/// <para>
/// That option is <c>MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED</c>, which sets the key and distribution hash to MD5 and the
/// distribution to <c>MEMCACHED_DISTRIBUTION_CONSISTENT_WEIGHTED</c> (weighted even when every weight is 1). The
/// continuum is <c>update_continuum</c> in libmemcached's <c>hosts.cc</c>:
/// </para>
/// <list type="bullet">
/// <item>each server gets <c>floor(pct * 160 / 4 * server_count + 0.0000000001) * 4</c> points, where
/// <c>pct = weight / total_weight</c>, all computed in single precision <c>float</c> as libmemcached does (doubles would
/// round some weight mixes to a different point count);</item>
/// <item>points come four at a time from the MD5 digest of <c>host-i</c> when the port is 11211 and
/// <c>host:port-i</c> otherwise, for i from 0, each 4-byte group read little-endian;</item>
/// <item>the points are sorted by value, then by server index (libmemcached's <c>continuum_item_cmp</c>);</item>
/// <item>a key's hash is the first four MD5 bytes, little-endian, and it belongs to the first point at or above it,
/// wrapping to the first point.</item>
/// </list>
/// <para>
/// The host is hashed exactly as written (see <see cref="ServerEndPoint"/>). libmemcached also skips hashing altogether
/// when the pool has one server; with one server every lookup lands on it either way, so we short-circuit too.
/// </para>
/// </remarks>
internal sealed class KetamaContinuum : IServerLocator
{
    /// <summary>libmemcached's <c>MEMCACHED_POINTS_PER_SERVER_KETAMA</c>.</summary>
    private const int PointsPerServer = 160;

    /// <summary>libmemcached's <c>MEMCACHED_DEFAULT_PORT</c>: the port that is left out of the point names.</summary>
    private const int DefaultPort = 11211;

    // Parallel arrays rather than an array of structs: the binary search touches only the values.
    private readonly uint[] _values;
    private readonly int[] _servers;

    /// <summary>Builds the continuum over <paramref name="servers"/>, in list order.</summary>
    /// <exception cref="ArgumentException">The list is empty.</exception>
    public KetamaContinuum(IReadOnlyList<ServerEndPoint> servers)
    {
        LocatorArguments.Validate(servers);

        ServerCount = servers.Count;

        ulong totalWeight = 0;
        foreach (var server in servers)
        {
            totalWeight += (ulong)server.Weight;
        }

        var points = new List<(uint Value, int Server)>();
        Span<uint> four = stackalloc uint[4];
        for (var index = 0; index < servers.Count; index++)
        {
            var server = servers[index];
            var count = PointsForServer(server.Weight, totalWeight, servers.Count);
            for (var i = 0; i < count / 4; i++)
            {
                var name = server.Port == DefaultPort
                    ? string.Create(CultureInfo.InvariantCulture, $"{server.Host}-{i}")
                    : string.Create(CultureInfo.InvariantCulture, $"{server.Host}:{server.Port}-{i}");
                KetamaMd5.Points(Encoding.UTF8.GetBytes(name), four);
                foreach (var value in four)
                {
                    points.Add((value, index));
                }
            }
        }

        points.Sort(static (a, b) => a.Value != b.Value ? a.Value.CompareTo(b.Value) : a.Server.CompareTo(b.Server));
        _values = new uint[points.Count];
        _servers = new int[points.Count];
        for (var i = 0; i < points.Count; i++)
        {
            (_values[i], _servers[i]) = points[i];
        }
    }

    /// <inheritdoc />
    public int ServerCount { get; }

    /// <summary>Number of points on the continuum (for tests and diagnostics).</summary>
    public int PointCount => _values.Length;

    /// <inheritdoc />
    public int Locate(ReadOnlySpan<byte> key)
    {
        if (ServerCount == 1)
        {
            return 0;
        }

        return _servers[FindPoint(KetamaMd5.Hash(key))];
    }

    /// <summary>Index on the continuum of the first point at or above <paramref name="hash"/>, wrapping to 0.</summary>
    internal int FindPoint(uint hash)
    {
        // libmemcached's dispatch_host: lower bound, then wrap-around past the last point.
        int left = 0, right = _values.Length;
        while (left < right)
        {
            var middle = left + ((right - left) / 2);
            if (_values[middle] < hash)
            {
                left = middle + 1;
            }
            else
            {
                right = middle;
            }
        }

        return right == _values.Length ? 0 : right;
    }

    /// <summary>Value of continuum point <paramref name="pointIndex"/>.</summary>
    internal uint ValueAtPoint(int pointIndex) => _values[pointIndex];

    /// <summary>Server index owning continuum point <paramref name="pointIndex"/>.</summary>
    internal int ServerAtPoint(int pointIndex) => _servers[pointIndex];

    /// <summary>
    /// Points for one server, in libmemcached's float arithmetic. The operations are spelled out one by one, in
    /// <c>float</c>, in the order C evaluates <c>pct * 160 / 4 * (float)live_servers + 0.0000000001F</c>.
    /// </summary>
    internal static int PointsForServer(int weight, ulong totalWeight, int serverCount)
    {
        var pct = (float)weight / (float)totalWeight;
        var scaled = pct * (float)PointsPerServer;
        scaled /= 4f;
        scaled *= (float)serverCount;
        scaled += 0.0000000001F;
        return (int)(Math.Floor((double)scaled) * 4);
    }
}
