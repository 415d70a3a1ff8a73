namespace Ballast;

/// <summary>A server was readmitted after the flush that follows an outage: the counterpart of PECL memcache's failure callback (a reconnected callback).</summary>
public sealed class ServerRecoveredEventArgs : EventArgs
{
    /// <summary>Creates the event's arguments.</summary>
    public ServerRecoveredEventArgs(ServerEndPoint server, DateTimeOffset time, long epoch, bool flushedByThisFrontend, TimeSpan downtime)
    {
        Server = server;
        Time = time;
        Epoch = epoch;
        FlushedByThisFrontend = flushedByThisFrontend;
        Downtime = downtime;
    }

    /// <summary>The server (its host and port).</summary>
    public ServerEndPoint Server { get; }

    /// <summary>The host.</summary>
    public string Host => Server.Host;

    /// <summary>The port.</summary>
    public int Port => Server.Port;

    /// <summary>When, by the client's <see cref="TimeProvider"/>.</summary>
    public DateTimeOffset Time { get; }

    /// <summary>The epoch the server was readmitted at in the shared view.</summary>
    public long Epoch { get; }

    /// <summary>True for the one frontend that won the failback lock and flushed the server.</summary>
    public bool FlushedByThisFrontend { get; }

    /// <summary>How long this frontend held the server down.</summary>
    public TimeSpan Downtime { get; }

    /// <summary>The reason it recovered, for logs.</summary>
    public override string ToString() => $"{Time:O} server {Server} recovered (epoch {Epoch}, {(FlushedByThisFrontend ? "flushed here" : "flushed by another frontend")}, down {Downtime.TotalMilliseconds:0} ms)";
}
