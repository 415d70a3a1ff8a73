using System.Text;

namespace Ballast;

/// <summary>The answer to a read: a hit with its value and metadata, or a miss.</summary>
public readonly record struct GetResult
{
    /// <summary>A miss.</summary>
    public static GetResult Miss => default;

    /// <summary>Creates a hit.</summary>
    public GetResult(byte[] value, uint flags, ulong cas)
    {
        Value = value;
        Flags = flags;
        Cas = cas;
    }

    /// <summary>True when the key was found.</summary>
    public bool IsHit => Value is not null;

    /// <summary>The stored bytes; null on a miss.</summary>
    public byte[]? Value { get; }

    /// <summary>The item's client flags (0 for values Ballast stores from byte arrays and strings).</summary>
    public uint Flags { get; }

    /// <summary>The item's CAS unique, for MemcachedClient.CompareAndSwapAsync.</summary>
    public ulong Cas { get; }

    /// <summary>
    /// The meta protocol's <c>W</c> flag: this caller won the right to refill the key (a lease was granted on a miss,
    /// or the item is stale). Refill it with the <see cref="Cas"/> as the lease token.
    /// </summary>
    public bool MustRefill { get; init; }

    /// <summary>
    /// On a miss: another caller already holds the key's refill lease (the meta protocol's <c>Z</c> flag), so it is
    /// refilling the key; this caller may read the source without refilling, or wait briefly and read again. False on
    /// a miss for any other reason (no value, a server down, stalled or fenced, a failed read).
    /// </summary>
    public bool RefillPending { get; init; }

    /// <summary>The meta protocol's <c>X</c> flag: the item was marked stale by an invalidation.</summary>
    public bool IsStale { get; init; }

    /// <summary>
    /// On a miss from <see cref="MemcachedClient.GetForRefillAsync(string, CancellationToken)"/>: the lease to refill the
    /// key with, or null when this caller may not refill it (another caller holds the lease, see
    /// <see cref="RefillPending"/>, or the read failed): then read the source and do not refill.
    /// </summary>
    public RefillLease? Lease { get; init; }

    /// <summary>The value decoded as UTF-8; null on a miss.</summary>
    public string? AsString() => Value is null ? null : Encoding.UTF8.GetString(Value);
}
