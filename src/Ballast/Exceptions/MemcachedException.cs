namespace Ballast;

/// <summary>
/// The base of the errors Ballast raises for a request that could not be carried out. The message names the server
/// and, where there is one, the key.
/// </summary>
public class MemcachedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MemcachedException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public MemcachedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public MemcachedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a server.</summary>
    public MemcachedException(string message, ServerEndPoint? server, Exception? innerException = null)
        : base(message, innerException) => Server = server;

    /// <summary>The server the request was for, when known.</summary>
    public ServerEndPoint? Server { get; }
}
