namespace Ballast;

/// <summary>
/// A server's answer broke the protocol or did not match the request it was for (a wrong opaque token, an unknown
/// response). The connection has been closed and will be replaced.
/// </summary>
public sealed class MemcachedProtocolException : MemcachedException
{
    /// <summary>Creates the exception.</summary>
    public MemcachedProtocolException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public MemcachedProtocolException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public MemcachedProtocolException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a server.</summary>
    public MemcachedProtocolException(string message, ServerEndPoint server, Exception? innerException = null)
        : base(message, server, innerException)
    {
    }
}
