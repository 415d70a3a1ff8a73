namespace Ballast;

/// <summary>
/// An invalidation (a delete, or a write that did not land and so must delete the old value) could be neither
/// confirmed by the key's server nor fenced in the shared view, because no quorum of the pool answered this frontend.
/// Other frontends may read the key's old value until the invalidation lands: the client keeps it in its journal and
/// retries it until it is confirmed or the server is fenced and flushed. The one case where the promise is owed rather
/// than kept; see the integrity documentation ("No quorum").
/// </summary>
public sealed class InvalidationOwedException : ServerUnavailableException
{
    /// <summary>Creates the exception.</summary>
    public InvalidationOwedException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public InvalidationOwedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public InvalidationOwedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a server and a key.</summary>
    /// <param name="message">What happened, naming the server and the key.</param>
    /// <param name="server">The key's server.</param>
    /// <param name="key">The key whose invalidation is owed.</param>
    /// <param name="innerException">Why the server could not confirm it, if it answered at all.</param>
    public InvalidationOwedException(string message, ServerEndPoint server, string key, Exception? innerException = null)
        : base(message, server, innerException)
    {
        Key = key;
    }

    /// <summary>The key whose invalidation is owed, when known.</summary>
    public string? Key { get; }
}
