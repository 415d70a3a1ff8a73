using System.Net.Security;
using System.Security.Authentication;

namespace Ballast;

/// <summary>
/// The TLS handshake with a server failed: its certificate is not trusted, names another host, has expired, or the
/// two sides share no protocol version or cipher. This is a configuration error, never a cache miss: like
/// <see cref="MemcachedAuthenticationException"/> it is not a <see cref="MemcachedException"/>, so it reaches the caller
/// of every operation. The message names the server, the host name checked and the reason.
/// </summary>
public sealed class MemcachedTlsException : AuthenticationException
{
    /// <summary>Creates the exception.</summary>
    public MemcachedTlsException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public MemcachedTlsException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public MemcachedTlsException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a server and the certificate checks that failed.</summary>
    public MemcachedTlsException(string message, ServerEndPoint server, SslPolicyErrors policyErrors, Exception? innerException = null)
        : base(message, innerException)
    {
        Server = server;
        PolicyErrors = policyErrors;
    }

    /// <summary>The server whose handshake failed, when known.</summary>
    public ServerEndPoint? Server { get; }

    /// <summary>The certificate checks that failed; <see cref="SslPolicyErrors.None"/> when the handshake failed otherwise.</summary>
    public SslPolicyErrors PolicyErrors { get; }
}
