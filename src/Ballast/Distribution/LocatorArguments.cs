using Ballast.Distribution.Hashing;

namespace Ballast.Distribution;

/// <summary>
/// The argument checks every server locator shares, in one place: <see cref="ServerLocatorFactory"/> and the locator
/// constructors all call these, so the exceptions (type, parameter name, message) are the same whichever is used.
/// </summary>
internal static class LocatorArguments
{
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
