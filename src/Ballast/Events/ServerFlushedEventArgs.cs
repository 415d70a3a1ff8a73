namespace Ballast;

/// <summary>This frontend sent <c>flush_all</c> to a server and the server answered: every flush is told, whoever made it and why.</summary>
public sealed class ServerFlushedEventArgs : EventArgs
{
    /// <summary>Creates the event's arguments.</summary>
    public ServerFlushedEventArgs(ServerEndPoint server, ServerFlushReason reason, DateTimeOffset time, long epoch)
    {
        Server = server;
        Reason = reason;
        Time = time;
        Epoch = epoch;
    }

    /// <summary>The server (its host and port).</summary>
    public ServerEndPoint Server { get; }

    /// <summary>Why it was flushed.</summary>
    public ServerFlushReason Reason { get; }

    /// <summary>When, by the client's <see cref="TimeProvider"/>.</summary>
    public DateTimeOffset Time { get; }

    /// <summary>The epoch of the server's record in the shared view that the flush belongs to (0 when none).</summary>
    public long Epoch { get; }

    /// <summary>The flush, for logs.</summary>
    public override string ToString() => $"{Time:O} server {Server} flushed ({Reason}, epoch {Epoch})";
}
