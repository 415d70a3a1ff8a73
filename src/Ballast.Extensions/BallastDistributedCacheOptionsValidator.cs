using System.Text;
using Microsoft.Extensions.Options;

namespace Ballast.Extensions;

/// <summary>
/// Checks <see cref="BallastDistributedCacheOptions"/> when the host starts: a key prefix memcached could not take
/// would fail every call, even for keys that are hashed (they keep the prefix).
/// </summary>
internal sealed class BallastDistributedCacheOptionsValidator : IValidateOptions<BallastDistributedCacheOptions>
{
    /// <summary>The longest prefix that leaves room for a hashed key ('#' and 43 characters of base64url SHA-256).</summary>
    public const int MaxKeyPrefixBytes = 250 - 44;

    public ValidateOptionsResult Validate(string? name, BallastDistributedCacheOptions options)
    {
        var prefix = options.KeyPrefix ?? string.Empty;
        if (prefix.AsSpan().ContainsAnyInRange('\0', ' ') || prefix.Contains('\u007f', StringComparison.Ordinal))
        {
            return ValidateOptionsResult.Fail($"Setting 'KeyPrefix' ('{prefix}'): memcached keys take no spaces or control characters.");
        }

        var bytes = Encoding.UTF8.GetByteCount(prefix);
        return bytes > MaxKeyPrefixBytes
            ? ValidateOptionsResult.Fail($"Setting 'KeyPrefix': {bytes} bytes of UTF-8, above {MaxKeyPrefixBytes} (memcached keys are at most 250 bytes, and a hashed key adds 44 to the prefix).")
            : ValidateOptionsResult.Success;
    }
}
