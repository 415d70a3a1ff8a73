namespace Ballast.Pool;

/// <summary>Where the pool reports server transitions and background failures: the client raises or logs them.</summary>
internal interface IServerEvents
{
    void OnServerFailed(ServerFailedEventArgs args);

    void OnServerRecovered(ServerRecoveredEventArgs args);

    void OnServerFlushed(ServerFlushedEventArgs args);

    /// <summary>Work that nobody awaits (a view read, a recovery step, an invalidation that outlived its caller) failed.</summary>
    void OnBackgroundFailure(string operation, Exception error);
}
