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

    // Ids 10 to 12 (a probe, a failback flush, a failback lock that failed) are retired: those failures are counted and
    // logged as absorbed errors (id 19), or as background work that failed (id 18). Ids are never reused.

    [LoggerMessage(13, LogLevel.Debug, "Key '{Key}': {Reason}; after {WaitedMs:0} ms {Outcome}")]
    public static partial void LeaseWaitEnded(this ILogger logger, string key, string reason, double waitedMs, string outcome);

    [LoggerMessage(14, LogLevel.Warning, "Key '{Key}': the value created by the factory could not be stored ({Status}); callers got it anyway")]
    public static partial void CreatedValueNotStored(this ILogger logger, string key, StoreStatus status);

    [LoggerMessage(15, LogLevel.Warning, "Key '{Key}': the value created by the factory could not be stored; callers got it anyway")]
    public static partial void CreatedValueStoreFailed(this ILogger logger, Exception error, string key);

    [LoggerMessage(16, LogLevel.Warning, "Key '{Key}': the cached value could not be deserialized as {Type}; treated as a miss and replaced")]
    public static partial void CachedValueUnreadable(this ILogger logger, Exception error, string key, string type);


    [LoggerMessage(18, LogLevel.Error, "Background work failed ({Operation}): nobody awaited it, so it is reported here")]
    public static partial void BackgroundWorkFailed(this ILogger logger, Exception error, string operation);

    [LoggerMessage(19, LogLevel.Warning, "Server {Server}: an error was absorbed as {AbsorbedAs} (key '{Key}'); {Count} of this kind since the last such line")]
    public static partial void ErrorAbsorbed(this ILogger logger, Exception error, ServerEndPoint server, AbsorbedError absorbedAs, string? key, int count);

    [LoggerMessage(20, LogLevel.Debug, "Key '{Key}': the factory's value is returned without being stored, because {Why}")]
    public static partial void CreatedWithoutLease(this ILogger logger, string key, string why);

    [LoggerMessage(21, LogLevel.Warning, "Pool {Pool}: its shared view is kept on {Replicas} server(s) and needs {Quorum} of them, so while any of them cannot be reached every key misses (fail closed). A pool needs three servers for its view to tolerate one failure; or keep the view in etcd (SharedView.UseEtcdView).")]
    public static partial void ViewCannotTolerateFailure(this ILogger logger, string pool, int replicas, int quorum);

    [LoggerMessage(22, LogLevel.Information, "Server {Server} was flushed by this frontend ({Reason}, epoch {Epoch})")]
    public static partial void ServerFlushed(this ILogger logger, ServerEndPoint server, ServerFlushReason reason, long epoch);

    [LoggerMessage(23, LogLevel.Warning, "Pool {Pool} had no shared view yet: this frontend flushed every server once before reading any, so whatever they cached is gone. To adopt a warm pool without emptying it, run `ballast view init` with the pool's servers before the first frontend starts.")]
    public static partial void NewPoolFlushed(this ILogger logger, string pool);

    [LoggerMessage(24, LogLevel.Warning, "Key '{Key}': the cached value could not be read as {Type}; the read is a miss")]
    public static partial void CachedValueUnreadableAsMiss(this ILogger logger, Exception error, string key, string type);

    [LoggerMessage(41, LogLevel.Warning, "Invalidation journal {Path}: line {Line} is no entry it wrote (a torn last line from a crash, or damage); it is skipped")]
    public static partial void JournalLineSkipped(this ILogger logger, string path, int line);
}
