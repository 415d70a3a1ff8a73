namespace Ballast.Protocol;

/// <summary>
/// The keys Ballast keeps for itself: everything under <c>ballast:</c>, where every pool keeps its view records and its
/// failback and recovery locks (<c>ballast:&lt;pool&gt;:</c>). An application key there could fence, unfence or flush
/// a server of this pool or of another pool on the same servers (pool names are derived from the server list, so anyone
/// who knows the addresses knows them), so the client refuses every such key, whatever its pool.
/// </summary>
internal static class ReservedKeys
{
    /// <summary>The prefix no application key may start with: every pool's reserved keys are under it.</summary>
    public const string ApplicationPrefix = "ballast:";

    /// <summary>The prefix of one pool's reserved keys.</summary>
    public static string Prefix(string poolName) => $"{ApplicationPrefix}{poolName}:";

    /// <summary>Throws when <paramref name="key"/> is under <see cref="ApplicationPrefix"/>.</summary>
    /// <exception cref="InvalidCacheKeyException">The key starts with the reserved prefix; the message names both.</exception>
    public static void ThrowIfReserved(string key)
    {
        if (key.StartsWith(ApplicationPrefix, StringComparison.Ordinal))
        {
            throw new InvalidCacheKeyException(key, $"keys starting with '{ApplicationPrefix}' are reserved for the shared views and locks of Ballast pools (any pool's)");
        }
    }
}
