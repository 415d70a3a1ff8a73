namespace Ballast.Connections;

/// <summary>Why a connection was closed; the failure detector weighs them differently.</summary>
internal enum ConnectionFault
{
    /// <summary>The oldest request went unanswered past the operation timeout.</summary>
    Timeout,

    /// <summary>The server reset or closed the connection, or a send or receive failed.</summary>
    Reset,

    /// <summary>The server's bytes broke the protocol, or an error answer left the stream's alignment in doubt.</summary>
    Protocol,

    /// <summary>The client closed it (disposal).</summary>
    Closed,
}
