using Ballast.Distribution.Hashing;

namespace Ballast.Distribution;

/// <summary>
/// PHP <c>memcached</c>'s default distribution: libmemcached's <c>MEMCACHED_DISTRIBUTION_MODULA</c> with
/// <c>MEMCACHED_HASH_DEFAULT</c> (one-at-a-time).
/// </summary>
/// <remarks>
/// libmemcached's <c>dispatch_host</c> returns <c>hash % server_count</c>: weights are ignored by modula (they only
/// matter to the consistent distributions), so a server's weight does not change where keys go. With one server
/// libmemcached returns index 0 without hashing.
/// </remarks>
internal sealed class ModulaLocator : IServerLocator
{
    /// <summary>Creates a locator over <paramref name="serverCount"/> servers.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The count is less than 1.</exception>
    public ModulaLocator(int serverCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(serverCount, 1);
        ServerCount = serverCount;
    }

    /// <inheritdoc />
    public int ServerCount { get; }

    /// <inheritdoc />
    public int Locate(ReadOnlySpan<byte> key) =>
        ServerCount == 1 ? 0 : (int)(OneAtATimeHash.Hash(key) % (uint)ServerCount);
}
