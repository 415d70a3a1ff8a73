using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Ballast.Cli.Monitor;

/// <summary>
/// <c>/api/events</c>: a server-sent event stream of the whole status, sent at once and then at every change (the
/// stats poll makes one each second), so a page needs no other request. A comment line every 15 s without a change
/// keeps proxies from closing an idle stream. Ends when the client leaves or the monitor stops.
/// </summary>
internal static class EventStream
{
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    private static readonly TimeSpan Coalesce = TimeSpan.FromMilliseconds(150);

    public static async Task RunAsync(HttpContext context, PoolMonitor monitor, TimeProvider time, CancellationToken stopping)
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
            await response.WriteAsync("retry: 1000\n\n", cancellationToken).ConfigureAwait(false);
            while (!cancellationToken.IsCancellationRequested)
            {
                var next = monitor.NextChange;
                var json = JsonSerializer.Serialize(monitor.Snapshot(), MonitorHost.Json);
                await response.WriteAsync($"event: status\ndata: {json}\n\n", cancellationToken).ConfigureAwait(false);
                await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
                while (!next.IsCompleted)
                {
                    try
                    {
                        await next.WaitAsync(KeepAlive, cancellationToken).ConfigureAwait(false);
                    }
                    catch (TimeoutException)
                    {
                        await response.WriteAsync(": keep-alive\n\n", cancellationToken).ConfigureAwait(false);
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
