using Ballast.Distribution.Hashing;

namespace Ballast.Distribution;

/// <summary>
/// The argument checks every server locator shares, in one place: <see cref="ServerLocatorFactory"/> and the locator
/// constructors all call these, so the exceptions (type, parameter name, message) are the same whichever is used.
/// </summary>
internal static class LocatorArguments
{
    /// <summary>
    /// Most total weight a pool may have. The PECL distributions build <c>weight * 160</c> continuum points or
    /// <c>weight</c> buckets per server, so the sum bounds their memory (16 M points at most); a larger one is refused
    /// with a message rather than overflowing an <c>int</c> (which gave a server no keys) or exhausting memory.
    /// </summary>
    public const int MaxTotalWeight = 100_000;

    /// <summary>Checks that <paramref name="servers"/> is a non-empty list.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="servers"/> is null.</exception>
    /// <exception cref="ArgumentException">The list is empty.</exception>
    public static void Validate(IReadOnlyList<ServerEndPoint> servers)
    {
        ArgumentNullException.ThrowIfNull(servers);
        if (servers.Count == 0)
        {
            throw new ArgumentException("A key distribution needs at least one server.", nameof(servers));
        }

        long total = 0;
        foreach (var server in servers)
        {
            total += server.Weight;
        }

        if (total > MaxTotalWeight)
        {
            throw new ArgumentException($"The servers' weights add up to {total}; at most {MaxTotalWeight} is allowed (the PECL distributions build 160 points per unit of weight).", nameof(servers));
        }
    }

    /// <summary>Checks <paramref name="servers"/> as <see cref="Validate(IReadOnlyList{ServerEndPoint})"/> does, and that <paramref name="hash"/> is a known PHP memcache hash.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="servers"/> is null.</exception>
    /// <exception cref="ArgumentException">The list is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="hash"/> is not a defined value.</exception>
    public static void Validate(PeclHashFunction hash, IReadOnlyList<ServerEndPoint> servers)
    {
        Validate(servers);
        _ = PeclHash.Seed(hash); // throws for an undefined enum value
    }
}
