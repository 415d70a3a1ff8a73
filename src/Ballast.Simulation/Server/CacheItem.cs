namespace Ballast.Simulation.Server;

/// <summary>One item of a simulated memcached, with the fields its meta commands read and write.</summary>
internal sealed class CacheItem
{
    public CacheItem(string key, byte[] value, uint flags, uint exptime, bool binaryKey)
    {
        Key = key;
        Value = value;
        Flags = flags;
        Exptime = exptime;
        BinaryKey = binaryKey;
    }

    /// <summary>The key's bytes, one char per byte (Latin-1).</summary>
    public string Key { get; }

    public byte[] Value { get; set; }

    public uint Flags { get; }

    /// <summary>memcached's relative expiry (its <c>current_time</c> units); 0 never.</summary>
    public uint Exptime { get; set; }

    /// <summary><c>it->time</c>: set on link, moved by bumps; what a delayed flush compares.</summary>
    public uint Time { get; set; }

    public ulong Cas { get; set; }

    public bool BinaryKey { get; }

    /// <summary><c>ITEM_STALE</c>: marked by <c>md ... I</c>.</summary>
    public bool Stale { get; set; }

    /// <summary><c>ITEM_TOKEN_SENT</c>: a reader has been told it won the refill (<c>W</c>).</summary>
    public bool TokenSent { get; set; }

    /// <summary><c>ITEM_FETCHED</c>.</summary>
    public bool Fetched { get; set; }

    /// <summary><c>ITEM_ACTIVE</c>.</summary>
    public bool Active { get; set; }

    /// <summary>Its place in the server's LRU list, while linked.</summary>
    public LinkedListNode<CacheItem>? LruNode { get; set; }

    /// <summary>Bytes it counts against the memory limit (memcached's item header is about 50 bytes).</summary>
    public long Size => 50 + Key.Length + Value.Length;
}
