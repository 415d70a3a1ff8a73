namespace Ballast;

/// <summary>A key breaks memcached's rules. Raised before any server is chosen, so nothing is sent.</summary>
public sealed class InvalidCacheKeyException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    public InvalidCacheKeyException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public InvalidCacheKeyException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public InvalidCacheKeyException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a key and the rule it breaks.</summary>
    public InvalidCacheKeyException(string key, string rule)
        : base($"Invalid key '{Printable(key)}': {rule}.", "key") => Key = key;

    /// <summary>The rejected key, as given.</summary>
    public string? Key { get; }

    private static string Printable(string key)
    {
        var shown = key.Length > 80 ? key[..80] + "..." : key;
        return string.Concat(shown.Select(c => char.IsControl(c) ? $"\\x{(int)c:X2}" : c.ToString()));
    }
}
