namespace Ballast;

/// <summary>
/// A server did not answer within the operation timeout. The connection it happened on has been closed and will be
/// replaced, so a late answer can never be taken for another request's. A mutation that timed out may or may not
/// have been applied.
/// </summary>
public sealed class MemcachedTimeoutException : MemcachedException
{
    /// <summary>Creates the exception.</summary>
    public MemcachedTimeoutException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public MemcachedTimeoutException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public MemcachedTimeoutException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a server.</summary>
    public MemcachedTimeoutException(string message, ServerEndPoint server, Exception? innerException = null)
        : base(message, server, innerException)
    {
    }
}
