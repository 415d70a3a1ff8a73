namespace Ballast;

/// <summary>A server was marked down: PECL's <c>setFailureCallback</c>.</summary>
public sealed class ServerFailedEventArgs : EventArgs
{
    /// <summary>Creates the event's arguments.</summary>
    public ServerFailedEventArgs(ServerEndPoint server, ServerFailureReason reason, DateTimeOffset time, long epoch, string? detail)
    {
        Server = server;
        Reason = reason;
        Time = time;
        Epoch = epoch;
        Detail = detail;
    }

    /// <summary>The server (its host and port).</summary>
    public ServerEndPoint Server { get; }

    /// <summary>The host.</summary>
    public string Host => Server.Host;

    /// <summary>The port.</summary>
    public int Port => Server.Port;

    /// <summary>Why it was marked down.</summary>
    public ServerFailureReason Reason { get; }

    /// <summary>When, by the client's <see cref="TimeProvider"/>.</summary>
    public DateTimeOffset Time { get; }

    /// <summary>The outage's epoch in the shared view: each outage of a server has a new one.</summary>
    public long Epoch { get; }

    /// <summary>The error that caused it, when there was one.</summary>
    public string? Detail { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Time:O} server {Server} failed ({Reason}, epoch {Epoch}){(Detail is null ? string.Empty : ": " + Detail)}";
}
