namespace Ballast.Connections;

/// <summary>What a connection tells its server about its health. Called on the connection's own threads: keep it short.</summary>
internal interface IConnectionObserver
{
    /// <summary>Responses arrived: the server is alive.</summary>
    void OnResponsesReceived(MetaConnection connection);

    /// <summary>The connection was poisoned and closed; every request on it has been failed.</summary>
    void OnFaulted(MetaConnection connection, ConnectionFault fault, Exception error);
}
