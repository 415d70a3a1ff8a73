namespace Ballast;

/// <summary>A value is larger than the server's item size limit. Raised before anything is sent.</summary>
public sealed class CacheValueTooLargeException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    public CacheValueTooLargeException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public CacheValueTooLargeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public CacheValueTooLargeException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a key whose value is too large.</summary>
    public CacheValueTooLargeException(string key, ServerEndPoint server, int valueLength, int limit)
        : base($"Value for key '{key}' on server {server} is {valueLength} bytes; the item size limit ({limit} bytes with key and item overhead) allows at most {limit - key.Length - ItemOverhead}.", "value")
    {
        Key = key;
        Server = server;
    }

    /// <summary>The key whose value was rejected.</summary>
    public string? Key { get; }

    /// <summary>The server the value was for.</summary>
    public ServerEndPoint? Server { get; }

    /// <summary>Bytes memcached spends on an item besides key and value (header, CAS, CRLF), rounded up.</summary>
    internal const int ItemOverhead = 96;
}
