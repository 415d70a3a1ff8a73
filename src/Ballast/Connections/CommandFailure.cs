using Ballast.Protocol.Commands;

namespace Ballast.Connections;

/// <summary>
/// Fails one command with an exception of its own when a whole connection fails. The shared cause becomes the inner
/// exception. Handing one exception object to thousands of callers made each <c>throw;</c> after an <c>await</c>
/// append to the same stack trace: a stalled server's 4,000 failed stores built traces of 230,000 characters and cost
/// gigabytes. One small exception per command keeps each trace to its own caller's frames.
/// </summary>
internal static class CommandFailure
{
    /// <summary>Fails <paramref name="command"/> with its own copy of <paramref name="cause"/>.</summary>
    public static void Fail(MetaCommand command, Exception cause, ServerEndPoint server)
        => command.Fail(For(command, cause, server));

    /// <summary>
    /// An exception of the same kind as <paramref name="cause"/> (so callers that tell a timeout from a reset still
    /// can), naming <paramref name="command"/>'s key, with the cause inside. A server command (stats, version) has no
    /// key to name: its message is the cause's.
    /// </summary>
    public static Exception For(MetaCommand command, Exception cause, ServerEndPoint server)
        => Copy(cause, server, command.Key is null ? cause.Message : $"The request for {Describe(command)} failed with its connection: {cause.Message}");

    /// <summary>A new exception of <paramref name="cause"/>'s kind with <paramref name="message"/>, the cause inside.</summary>
    public static Exception Copy(Exception cause, ServerEndPoint server, string message)
    {
        return cause switch
        {
            MemcachedTimeoutException => new MemcachedTimeoutException(message, server, cause),
            MemcachedProtocolException => new MemcachedProtocolException(message, server, cause),
            MemcachedServerErrorException => new MemcachedServerErrorException(message, server, cause),
            MemcachedAuthenticationException => new MemcachedAuthenticationException(message, server, cause),
            MemcachedTlsException tls => new MemcachedTlsException(message, server, tls.PolicyErrors, cause),
            ObjectDisposedException disposed => new ObjectDisposedException(message, disposed),
            _ => new ServerUnavailableException(message, server, cause),
        };
    }

    /// <summary><c>key 'k'</c>, a pool key's subject (the shared view's record of a server), or <c>a server command</c>.</summary>
    public static string Describe(MetaCommand command) => command.Describe();
}
