namespace Ballast;

/// <summary>What a pool does with a key that breaks memcached's key rules (spaces, control characters).</summary>
public enum InvalidKeyHandling
{
    /// <summary>Throw <see cref="InvalidCacheKeyException"/> before anything is sent. The default.</summary>
    Reject = 0,

    /// <summary>
    /// Send the key base64-encoded with the meta protocol's <c>b</c> flag. Key distribution still hashes the key's
    /// own UTF-8 bytes. The encoded key must still fit in 250 bytes, so such keys can be at most 187 bytes long.
    /// Empty keys are always rejected.
    /// </summary>
    Base64 = 1,
}
