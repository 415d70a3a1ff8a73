namespace Ballast;

/// <summary>Why a server was marked down.</summary>
public enum ServerFailureReason
{
    /// <summary>It failed to answer <see cref="FailureDetectionOptions.ConsecutiveTimeouts"/> requests in a row.</summary>
    Timeouts = 0,

    /// <summary>It refused a connection, or could not be connected to.</summary>
    ConnectionRefused = 1,

    /// <summary>It reset or closed a connection.</summary>
    ConnectionReset = 2,

    /// <summary>An invalidation (delete) for it could not be confirmed within <see cref="InvalidationOptions.ConfirmTimeout"/>, so it was fenced.</summary>
    InvalidationUnconfirmed = 3,

    /// <summary>Another frontend marked it down, and the shared view said so.</summary>
    SharedView = 4,

    /// <summary>
    /// Its TLS handshake failed (an untrusted or wrong certificate, or no TLS at all): misconfigured, or not the server it
    /// claims to be. Its keys' operations raise <see cref="MemcachedTlsException"/>; the other servers' keys work.
    /// </summary>
    TlsFailed = 5,

    /// <summary>
    /// It refused this client's login, or demands one the client does not give. Its keys' operations raise
    /// <see cref="MemcachedAuthenticationException"/>; the other servers' keys work.
    /// </summary>
    AuthenticationFailed = 6,

    /// <summary>
    /// A new connection reached a later life of the process than this frontend's earlier connections had (its
    /// <c>stats</c> <c>pid</c> and start time changed): it restarted, empty, counters included, between two of this
    /// frontend's connections, with no reset or refusal seen in between (a connection closed after a timeout, say).
    /// The requests sent on that connection fail unanswered. See <see cref="FailureDetectionOptions.DetectRestarts"/>.
    /// </summary>
    Restarted = 7,
}
