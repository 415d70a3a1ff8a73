using Microsoft.AspNetCore.Http;

namespace Ballast.Cli.Monitor;

/// <summary>
/// <c>/api/events</c>: a server-sent event stream of the whole status, sent at once and then at every change (the
/// stats poll makes one each second), so a page needs no other request. The status is serialized once per change for
/// every stream (<see cref="PoolMonitor.CurrentEvent"/>), and at most <see cref="EventStreamSlots.Capacity"/> streams
/// are open at once: past that a stream gets 503. A comment line every 15 s without a change keeps proxies from closing
/// an idle stream. Ends when the client leaves or the monitor stops.
/// </summary>
internal static class EventStream
{
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    private static readonly TimeSpan Coalesce = TimeSpan.FromMilliseconds(150);

    private static readonly byte[] Retry = "retry: 1000\n\n"u8.ToArray();

    private static readonly byte[] KeepAliveComment = ": keep-alive\n\n"u8.ToArray();

    public static async Task RunAsync(HttpContext context, PoolMonitor monitor, EventStreamSlots slots, TimeProvider time, CancellationToken stopping)
    {
        var response = context.Response;
        if (!slots.TryTake())
        {
            response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            response.Headers.RetryAfter = "10";
            await response.WriteAsync(
                $"This monitor serves at most {slots.Capacity} event streams at once (--max-event-streams), and that many are open; close a page or raise the limit. /api/status answers without a stream.\n",
                context.RequestAborted).ConfigureAwait(false);
            return;
        }

        try
        {
            await StreamAsync(context, monitor, time, stopping).ConfigureAwait(false);
        }
        finally
        {
            slots.Release();
        }
    }

    private static async Task StreamAsync(HttpContext context, PoolMonitor monitor, TimeProvider time, CancellationToken stopping)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        var cancellationToken = linked.Token;
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        try
        {
            // A reconnecting EventSource waits this long (ms) before it tries again.
            await response.Body.WriteAsync(Retry, cancellationToken).ConfigureAwait(false);
            while (!cancellationToken.IsCancellationRequested)
            {
                var current = monitor.CurrentEvent();
                await response.Body.WriteAsync(current.Bytes, cancellationToken).ConfigureAwait(false);
                await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
                while (!current.NextChange.IsCompleted)
                {
                    try
                    {
                        await current.NextChange.WaitAsync(KeepAlive, cancellationToken).ConfigureAwait(false);
                    }
                    catch (TimeoutException)
                    {
                        await response.Body.WriteAsync(KeepAliveComment, cancellationToken).ConfigureAwait(false);
                        await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
                    }
                }

                await Task.Delay(Coalesce, time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The page went away, or the monitor is stopping: the stream simply ends.
        }
    }
}
