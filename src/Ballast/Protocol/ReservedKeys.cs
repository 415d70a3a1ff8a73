namespace Ballast.Protocol;

/// <summary>
/// The keys Ballast keeps for itself in a pool: everything under <c>ballast:&lt;pool&gt;:</c> (view records, the
/// failback and recovery locks). An application key there could fence or unfence a server, so the client refuses it.
/// </summary>
internal static class ReservedKeys
{
    /// <summary>The prefix of a pool's reserved keys.</summary>
    public static string Prefix(string poolName) => $"ballast:{poolName}:";

    /// <summary>Throws when <paramref name="key"/> is one of the pool's reserved keys.</summary>
    /// <exception cref="InvalidCacheKeyException">The key starts with the reserved prefix; the message names both.</exception>
    public static void ThrowIfReserved(string key, string reservedPrefix)
    {
        if (key.StartsWith(reservedPrefix, StringComparison.Ordinal))
        {
            throw new InvalidCacheKeyException(key, $"keys starting with '{reservedPrefix}' are reserved for the pool's shared view and its locks");
        }
    }
}
