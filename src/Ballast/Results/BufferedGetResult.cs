namespace Ballast;

/// <summary>
/// The answer to a read into a caller's buffer (<see cref="MemcachedClient.GetAsync(string, System.Buffers.IBufferWriter{byte}, CancellationToken)"/>):
/// whether the key was found and, on a hit, how many bytes were appended, with the item's flags and CAS.
/// </summary>
public readonly record struct BufferedGetResult
{
    /// <summary>A miss: nothing was written.</summary>
    public static BufferedGetResult Miss => default;

    /// <summary>Creates a hit of <paramref name="length"/> bytes.</summary>
    public BufferedGetResult(int length, uint flags, ulong cas)
    {
        IsHit = true;
        Length = length;
        Flags = flags;
        Cas = cas;
    }

    /// <summary>True when the key was found and its value appended to the buffer.</summary>
    public bool IsHit { get; }

    /// <summary>Bytes appended to the buffer (0 on a miss).</summary>
    public int Length { get; }

    /// <summary>The item's client flags.</summary>
    public uint Flags { get; }

    /// <summary>The item's CAS unique, for MemcachedClient.CompareAndSwapAsync.</summary>
    public ulong Cas { get; }
}
