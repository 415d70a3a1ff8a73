using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ballast.Cli.Monitor;

/// <summary>
/// Asks every reachable server for its <c>stats</c> once per <see cref="MonitorSettings.PollInterval"/>, each server
/// on its own (a stalled server delays no other, and gets no second request while its first is out), and looks at
/// every server's state each tick. Their timeouts count towards failure detection like any request's (the quick
/// detection is the view reads' and the <see cref="Heartbeat"/>'s). Servers held down are not asked: the client's own
/// probe (one <c>version</c> on its backoff schedule) finds them when they return.
/// </summary>
internal sealed partial class StatsPoller(PoolMonitor monitor, MonitorSettings settings, TimeProvider time, ILogger<StatsPoller> logger) : BackgroundService
{
    private readonly Dictionary<ServerEndPoint, Task> _inFlight = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(settings.PollInterval, time);
        try
        {
            do
            {
                Tick(stoppingToken);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await Task.WhenAll(_inFlight.Values).ConfigureAwait(false);
    }

    private void Tick(CancellationToken stoppingToken)
    {
        monitor.Refresh();
        foreach (var server in monitor.Servers)
        {
            if (_inFlight.TryGetValue(server, out var running) && !running.IsCompleted)
            {
                continue;
            }

            if (!monitor.IsReachable(server))
            {
                continue;
            }

            _inFlight[server] = PollAsync(server, stoppingToken);
        }

        // The view's age moves on every tick even when nothing else does: the page shows it.
        monitor.SignalChange();
    }

    private async Task PollAsync(ServerEndPoint server, CancellationToken stoppingToken)
    {
        try
        {
            monitor.RecordStats(await monitor.Client.StatsOfAsync(server, stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception error)
        {
            // Observed, never dropped: the next tick asks again.
            LogPollFailed(logger, error, server.ToString());
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "stats of {Server} failed")]
    private static partial void LogPollFailed(ILogger logger, Exception error, string server);
}
