namespace Ballast;

/// <summary>
/// The right to refill a key after a miss, granted by the meta protocol's vivify-on-miss (<c>mg ... N</c>): the
/// server creates a placeholder and hands one caller the win flag. The refill succeeds only if no delete touched the
/// key in between, which closes cache-aside's classic race (a refill of a value read before a write landing after
/// that write's invalidation). Pass it to <see cref="MemcachedClient.RefillAsync(string, ReadOnlyMemory{byte}, RefillLease, TimeSpan?, CancellationToken)"/>.
/// </summary>
public sealed class RefillLease
{
    internal RefillLease(string key, IReadOnlyList<LeaseToken> tokens)
    {
        Key = key;
        Tokens = tokens;
    }

    /// <summary>The key the lease is for, as the server holds it (with <see cref="MemcachedClientOptions.KeyPrefix"/>, if any).</summary>
    public string Key { get; }

    internal IReadOnlyList<LeaseToken> Tokens { get; }
}
