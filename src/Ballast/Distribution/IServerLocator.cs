namespace Ballast.Distribution;

/// <summary>
/// Maps a key's bytes to the index of a server in the pool's server list. Implementations are immutable once built,
/// safe for concurrent use, O(log n) or better per lookup, and allocate nothing per lookup.
/// </summary>
internal interface IServerLocator
{
    /// <summary>Number of servers the locator was built over.</summary>
    int ServerCount { get; }

    /// <summary>Index (into the server list given at construction) of the server that owns <paramref name="key"/>.</summary>
    int Locate(ReadOnlySpan<byte> key);
}
