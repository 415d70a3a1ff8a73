using System.Security.Cryptography;
using System.Text;
using Ballast.Protocol;

namespace Ballast.Pool;

/// <summary>
/// Who this frontend is within which pool: the pool's name (what frontends of one pool share: the shared view's keys
/// and locks are built from it) and this frontend's id (how records and locks name their writer).
/// </summary>
/// <param name="PoolName">The pool's name.</param>
/// <param name="FrontendId">This frontend's id: 8 hex digits, new for every client.</param>
internal sealed record PoolIdentity(string PoolName, string FrontendId)
{
    /// <summary>Keys under this prefix are the pool's own (view records, locks); applications may not use them.</summary>
    public string ReservedKeyPrefix => ReservedKeys.Prefix(PoolName);

    /// <summary>The identity of a new client: the configured pool name, or one derived from the server list.</summary>
    public static PoolIdentity For(MemcachedClientOptions options, string frontendId)
        => new(options.SharedView.PoolName ?? DerivePoolName(options.Servers), frontendId);

    /// <summary>A fresh frontend id from a cryptographic source (ids must not collide across processes).</summary>
    public static string NewFrontendId() => Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();

    /// <summary>A name every frontend configured with the same servers derives alike.</summary>
    private static string DerivePoolName(IEnumerable<ServerEndPoint> servers)
    {
        var joined = string.Join(",", servers.Select(s => s.ToString()));
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(joined)))[..12].ToLowerInvariant();
    }
}
