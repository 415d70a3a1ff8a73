namespace Ballast;

/// <summary>
/// The server is down, refused the connection or lost it. Raised at once, without waiting for a timeout, while the
/// failure detector holds the server down.
/// </summary>
public class ServerUnavailableException : MemcachedException
{
    /// <summary>Creates the exception.</summary>
    public ServerUnavailableException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public ServerUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public ServerUnavailableException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a server.</summary>
    public ServerUnavailableException(string message, ServerEndPoint server, Exception? innerException = null)
        : base(message, server, innerException)
    {
    }
}
