namespace Ballast.Pool;

/// <summary>Where the pool reports server transitions: the client raises them as its public events.</summary>
internal interface IServerEvents
{
    void OnServerFailed(ServerFailedEventArgs args);

    void OnServerRecovered(ServerRecoveredEventArgs args);
}
