using System.Security.Authentication;

namespace Ballast;

/// <summary>
/// A server refused the configured credentials (memcached <c>-Y</c>), or demands credentials and none are configured
/// (it answered <c>unauthenticated</c>). This is a configuration error, never a cache miss: it is not a
/// <see cref="MemcachedException"/>, so no read presents it as one, and it reaches the caller of every operation.
/// The message names the server and the user, never the password.
/// </summary>
public sealed class MemcachedAuthenticationException : AuthenticationException
{
    /// <summary>Creates the exception.</summary>
    public MemcachedAuthenticationException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public MemcachedAuthenticationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public MemcachedAuthenticationException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a server.</summary>
    public MemcachedAuthenticationException(string message, ServerEndPoint server, Exception? innerException = null)
        : base(message, innerException) => Server = server;

    /// <summary>The server that refused, when known.</summary>
    public ServerEndPoint? Server { get; }
}
