using Microsoft.Extensions.Hosting;

namespace Ballast.Cli.Monitor;

/// <summary>
/// A <c>version</c> every quarter of the bound to each up server that gets no shared-view reads (not a witness: pools
/// of 4 or more, or every server when the view is in etcd), so that the monitor, which has no data traffic, sees such
/// a server stall as quickly as a witness (three timeouts in a row) instead of only through the stats poll (about
/// 2.8 s measured). Requests are not held back while one is out: a stalled server's timeouts then come a quarter of
/// the bound apart, and at most timeout / interval + 1 requests are ever waiting on it.
/// </summary>
internal sealed class Heartbeat(PoolMonitor monitor, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var client = monitor.Client;
        var targets = monitor.Servers.Where(s => !client.ReceivesViewReads(s)).ToArray();
        if (targets.Length == 0)
        {
            return;
        }

        var pending = new List<Task>();
        using var timer = new PeriodicTimer(client.SharedViewBound / 4, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                pending.RemoveAll(t => t.IsCompleted);
                pending.AddRange(targets.Where(s => client.GetServerState(s) == ServerState.Up).Select(s => client.HeartbeatAsync(s, stoppingToken)));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        // HeartbeatAsync turns every failure into false; what is left is cancellation.
        await Task.WhenAll(pending.Select(t => t.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default))).ConfigureAwait(false);
    }
}
