namespace Ballast.Distribution;

/// <summary>Builds the <see cref="IServerLocator"/> that reproduces a PHP extension's key placement.</summary>
internal static class ServerLocatorFactory
{
    /// <summary>Creates the locator for <paramref name="distribution"/> over <paramref name="servers"/>.</summary>
    /// <param name="distribution">Which PHP extension and setting to reproduce.</param>
    /// <param name="hash">The PHP <c>memcache</c> hash function; used only by the two PECL distributions.</param>
    /// <param name="servers">The pool's servers, in the order the PHP side adds them (order matters to every strategy).</param>
    /// <exception cref="ArgumentException">The server list is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">Unknown distribution or hash function.</exception>
    public static IServerLocator Create(KeyDistribution distribution, PeclHashFunction hash, IReadOnlyList<ServerEndPoint> servers)
    {
        LocatorArguments.Validate(servers);

        return distribution switch
        {
            KeyDistribution.Ketama => new KetamaContinuum(servers),
            KeyDistribution.PeclConsistent => new PeclConsistentLocator(hash, servers),
            KeyDistribution.PeclStandard => new PeclStandardLocator(hash, servers),
            KeyDistribution.Modula => new ModulaLocator(servers.Count),
            _ => throw new ArgumentOutOfRangeException(nameof(distribution), distribution, "Unknown key distribution."),
        };
    }
}
