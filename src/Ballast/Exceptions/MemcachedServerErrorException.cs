namespace Ballast;

/// <summary>
/// The server answered <c>SERVER_ERROR</c>, <c>CLIENT_ERROR</c> or <c>ERROR</c>: it could not carry out the request
/// (out of memory, say). The message carries the server's own words.
/// </summary>
public sealed class MemcachedServerErrorException : MemcachedException
{
    /// <summary>Creates the exception.</summary>
    public MemcachedServerErrorException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public MemcachedServerErrorException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public MemcachedServerErrorException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a server.</summary>
    public MemcachedServerErrorException(string message, ServerEndPoint server, Exception? innerException = null)
        : base(message, server, innerException)
    {
    }
}
