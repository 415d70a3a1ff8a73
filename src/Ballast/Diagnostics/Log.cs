using Microsoft.Extensions.Logging;

namespace Ballast.Diagnostics;

/// <summary>
/// Every event Ballast logs, source-generated (<c>[LoggerMessage]</c>): nothing is formatted unless the level is
/// enabled, and a client without <see cref="MemcachedClientOptions.LoggerFactory"/> logs nothing. Event ids are
/// stable; <c>docs/observability.md</c> lists them.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Warning, "Server {Server} was marked down and fenced ({Reason}, epoch {Epoch}): {Detail}")]
    public static partial void ServerFenced(this ILogger logger, ServerEndPoint server, ServerFailureReason reason, long epoch, string? detail);

    [LoggerMessage(2, LogLevel.Information, "Server {Server} was readmitted (epoch {Epoch}) after {DowntimeMs:0} ms down; flushed by this frontend: {FlushedHere}")]
    public static partial void ServerReadmitted(this ILogger logger, ServerEndPoint server, long epoch, double downtimeMs, bool flushedHere);

    [LoggerMessage(3, LogLevel.Debug, "Server {Server}: the read of key '{Key}' failed and was served as a miss")]
    public static partial void ReadFailedAsMiss(this ILogger logger, Exception error, ServerEndPoint server, string? key);

    [LoggerMessage(4, LogLevel.Warning, "Server {Server}: the invalidation of key '{Key}' was not confirmed; it is journaled and retried until confirmed or the server is fenced")]
    public static partial void InvalidationJournaled(this ILogger logger, Exception error, ServerEndPoint server, string key);

    [LoggerMessage(5, LogLevel.Information, "Server {Server}: the journaled invalidation of key '{Key}' is confirmed")]
    public static partial void JournalRetryConfirmed(this ILogger logger, ServerEndPoint server, string key);

    [LoggerMessage(6, LogLevel.Debug, "Server {Server}: a retry of the journaled invalidation of key '{Key}' failed; it stays owed")]
    public static partial void JournalRetryFailed(this ILogger logger, Exception error, ServerEndPoint server, string key);

    [LoggerMessage(7, LogLevel.Error, "Pool {Pool}: a step of the background maintenance (view reads, probes, failback, journal retries) failed; it runs again next tick")]
    public static partial void MaintenanceStepFailed(this ILogger logger, Exception error, string pool);

    [LoggerMessage(8, LogLevel.Error, "A subscriber of the client's {Event} event threw; the other subscribers still ran")]
    public static partial void EventSubscriberFailed(this ILogger logger, Exception error, string @event);

    [LoggerMessage(9, LogLevel.Warning, "Pool {Pool}: the first read of the shared view took longer than the operation timeout; operations go on without it (reads miss, writes fence)")]
    public static partial void FirstViewReadTimedOut(this ILogger logger, string pool);

    [LoggerMessage(10, LogLevel.Debug, "Server {Server}: the probe failed; it stays down")]
    public static partial void ProbeFailed(this ILogger logger, Exception error, ServerEndPoint server);

    [LoggerMessage(11, LogLevel.Warning, "Server {Server}: flush_all for a failback failed")]
    public static partial void FailbackFlushFailed(this ILogger logger, Exception error, ServerEndPoint server);

    [LoggerMessage(12, LogLevel.Debug, "Server {Server}: the failback lock could not be taken or released")]
    public static partial void FailbackLockFailed(this ILogger logger, Exception error, ServerEndPoint server);

    [LoggerMessage(13, LogLevel.Debug, "Key '{Key}': {Reason}; after {WaitedMs:0} ms {Outcome}")]
    public static partial void LeaseWaitEnded(this ILogger logger, string key, string reason, double waitedMs, string outcome);

    [LoggerMessage(14, LogLevel.Warning, "Key '{Key}': the value created by the factory could not be stored ({Status}); callers got it anyway")]
    public static partial void CreatedValueNotStored(this ILogger logger, string key, StoreStatus status);

    [LoggerMessage(15, LogLevel.Warning, "Key '{Key}': the value created by the factory could not be stored; callers got it anyway")]
    public static partial void CreatedValueStoreFailed(this ILogger logger, Exception error, string key);

    [LoggerMessage(16, LogLevel.Warning, "Key '{Key}': the cached value could not be deserialized as {Type}; treated as a miss and replaced")]
    public static partial void CachedValueUnreadable(this ILogger logger, Exception error, string key, string type);

    [LoggerMessage(17, LogLevel.Debug, "Server {Server}: a batched read of {Count} keys failed and they were served as misses")]
    public static partial void BatchReadFailedAsMisses(this ILogger logger, Exception error, ServerEndPoint server, int count);

    [LoggerMessage(18, LogLevel.Error, "Background work failed ({Operation}): nobody awaited it, so it is reported here")]
    public static partial void BackgroundWorkFailed(this ILogger logger, Exception error, string operation);

    [LoggerMessage(19, LogLevel.Warning, "Key '{Key}': the cached value could not be read as {Type}; the read is a miss")]
    public static partial void CachedValueUnreadableAsMiss(this ILogger logger, Exception error, string key, string type);
}
