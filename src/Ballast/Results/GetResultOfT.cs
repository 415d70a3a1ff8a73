namespace Ballast;

/// <summary>The answer to a typed read (<c>MemcachedClient.GetAsync&lt;T&gt;</c>): a hit with its value, or a miss.</summary>
/// <typeparam name="T">The value's type.</typeparam>
public readonly record struct GetResult<T>
{
    /// <summary>A miss.</summary>
    public static GetResult<T> Miss => default;

    /// <summary>Creates a hit.</summary>
    /// <param name="value">The value read.</param>
    /// <param name="flags">The item's client flags.</param>
    /// <param name="cas">The item's CAS unique.</param>
    public GetResult(T value, uint flags, ulong cas)
    {
        IsHit = true;
        Value = value;
        Flags = flags;
        Cas = cas;
    }

    /// <summary>True when the key was found and its value read as a <typeparamref name="T"/>.</summary>
    public bool IsHit { get; }

    /// <summary>The value; <c>default</c> on a miss (a stored null or zero is a hit: tell them apart with <see cref="IsHit"/>).</summary>
    public T? Value { get; }

    /// <summary>The item's client flags.</summary>
    public uint Flags { get; }

    /// <summary>The item's CAS unique, for <c>MemcachedClient.CompareAndSwapAsync</c>.</summary>
    public ulong Cas { get; }
}
