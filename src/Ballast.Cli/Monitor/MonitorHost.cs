using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Ballast.Diagnostics;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace Ballast.Cli.Monitor;

/// <summary>
/// <c>ballast monitor</c>'s process: an ASP.NET Core minimal host (Kestrel) around a <see cref="PoolMonitor"/>, serving
/// the status page (<c>/</c>), <c>/api/status</c> (JSON), <c>/api/events</c> (server-sent events: the status at every
/// change), <c>/metrics</c> (Prometheus text) and <c>/healthz</c>. Stops gracefully when its token is cancelled (the
/// command's SIGTERM and Ctrl+C): open event streams end, the poller stops, the client is disposed. Every answer
/// forbids framing and content sniffing and carries the page's content security policy; a request naming a host the
/// monitor does not answer to gets 421 (<see cref="HostAllowList"/>), before any endpoint runs.
/// </summary>
internal sealed class MonitorHost : IAsyncDisposable
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    private readonly WebApplication _app;

    private MonitorHost(WebApplication app, PoolMonitor monitor)
    {
        _app = app;
        Monitor = monitor;
    }

    public PoolMonitor Monitor { get; }

    /// <summary>The address it listens on, port included (the actual one when port 0 was asked for); set once started.</summary>
    public Uri? Address { get; private set; }

    /// <summary>Builds the host and its client (whose background loop starts at once); nothing listens until <see cref="StartAsync"/>.</summary>
    public static MonitorHost Create(MonitorSettings settings, string store, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        time ??= TimeProvider.System;
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = typeof(MonitorHost).Assembly.GetName().Name });
        builder.Logging.ClearProviders();
        if (settings.LoggerFactory is { } loggerFactory)
        {
            builder.Services.AddSingleton(loggerFactory);
        }
        else
        {
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true).AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
            builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        }

        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(settings.Listen);

            // Connections past this are closed as they arrive, before any request is read: each open connection holds
            // buffers, so a client opening thousands (event streams or not) would grow the monitor without bound. Room
            // for every event stream and as many plain requests besides.
            k.Limits.MaxConcurrentConnections = settings.MaxEventStreams + MonitorSettings.DefaultMaxEventStreams;
        });

        // The command's own signal handling cancels the token RunAsync is given (Program.cs); the host's console
        // lifetime would install a second set of handlers, and in tests would take over the test process's Ctrl+C.
        builder.Services.AddSingleton<IHostLifetime, TokenLifetime>();
        builder.Services.AddSingleton(time);
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(provider =>
        {
            settings.Client.LoggerFactory ??= provider.GetRequiredService<ILoggerFactory>();
            return new PoolMonitor(new MemcachedClient(settings.Client, time), store, time);
        });
        builder.Services.AddSingleton<MonitorMetrics>();
        builder.Services.AddHostedService<StatsPoller>();
        builder.Services.AddHostedService<Heartbeat>();
        builder.Services.AddOpenTelemetry().ConfigureResource(r => r.AddService("ballast-monitor")).WithMetrics(metrics => metrics
            .AddMeter(MonitorMetrics.MeterName)
            .AddMeter(BallastTelemetry.MeterName)
            .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));

        var app = builder.Build();
        var monitor = app.Services.GetRequiredService<PoolMonitor>();
        _ = app.Services.GetRequiredService<MonitorMetrics>();
        UseSecurity(app, new HostAllowList(settings.Listen.Address, settings.AllowedHosts));
        MapEndpoints(app, monitor, new EventStreamSlots(settings.MaxEventStreams));
        return new MonitorHost(app, monitor);
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _app.StartAsync(cancellationToken).ConfigureAwait(false);
        var addresses = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        Address = new Uri(addresses.First());
    }

    /// <summary>Runs until <paramref name="cancellationToken"/> is cancelled, then stops gracefully.</summary>
    public async Task WaitForStopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }

        await StopAsync().ConfigureAwait(false);
    }

    public async Task StopAsync()
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _app.StopAsync(limit.Token).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        // Disposing the application disposes the monitor (a singleton), and with it the client.
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Headers on every answer, and the Host check before any endpoint.</summary>
    private static void UseSecurity(WebApplication app, HostAllowList hosts)
    {
        app.Use(async (context, next) =>
        {
            var headers = context.Response.Headers;
            headers.XFrameOptions = "DENY";
            headers.XContentTypeOptions = "nosniff";
            headers.ContentSecurityPolicy = StatusPage.ContentSecurityPolicy;
            headers["Referrer-Policy"] = "no-referrer";
            if (!hosts.Allows(context.Request.Host))
            {
                context.Response.StatusCode = StatusCodes.Status421MisdirectedRequest;
                await context.Response.WriteAsync(
                    $"Host '{Shown(context.Request.Host.Value)}' is not a name this monitor answers to ({hosts}): a page served under another name must not read it. Start the monitor with --allow-host NAME to add one.\n",
                    context.RequestAborted).ConfigureAwait(false);
                return;
            }

            await next(context).ConfigureAwait(false);
        });
    }

    private static string Shown(string? text)
        => text is null ? "(none)" : string.Concat(text.Take(100).Select(c => c is >= ' ' and <= '~' ? c.ToString() : $"\\x{(int)c:X2}"));

    private static void MapEndpoints(WebApplication app, PoolMonitor monitor, EventStreamSlots slots)
    {
        app.MapGet("/", () => Results.Text(StatusPage.Html, "text/html; charset=utf-8"));
        app.MapGet("/api/status", () => Results.Json(monitor.Snapshot(), Json));
        app.MapGet("/api/events", (HttpContext context, IHostApplicationLifetime lifetime, TimeProvider time) => EventStream.RunAsync(context, monitor, slots, time, lifetime.ApplicationStopping));
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapGet("/healthz", () =>
        {
            // Healthy while the monitor sees the pool as its frontends do: its copy of the view is fresh (read from a
            // quorum within three quarters of the bound), so the states it reports and the fences it writes are current.
            var fresh = monitor.Client.IsSharedViewFresh;
            var body = new { status = fresh ? "healthy" : "unhealthy", viewFresh = fresh };
            return Results.Json(body, Json, statusCode: fresh ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        });
    }

    /// <summary>A host lifetime that installs no signal handlers: the host stops when its owner says so.</summary>
    private sealed class TokenLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
