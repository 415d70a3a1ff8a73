using System.CommandLine;
using Ballast.Cli.Monitor;

namespace Ballast.Cli.Commands;

/// <summary>
/// <c>ballast monitor</c>: the seeds' external service monitor. A frontend of the pool with no data traffic: it probes
/// every server, fences a failed one in the shared view, and runs the coordinated failback (exactly one flush per
/// outage, under the same lock as every Ballast frontend), so a pool is protected when no application is running;
/// with a live status page, JSON, server-sent events and Prometheus metrics.
/// </summary>
internal static class MonitorCommand
{
    public static Command Create(CommonOptions common, CliConsole console)
    {
        var listen = new Option<string>("--listen")
        {
            Description = $"Where the status page listens: address:port ({MonitorSettings.DefaultListen} by default; 0.0.0.0:9100 to let other hosts see it, port 0 for any free port).",
            HelpName = "address:port",
        };
        var view = new Option<string?>("--view", "--view-store")
        {
            Description = "Where the pool's shared view lives: memcached (witness servers of the pool; the default) or etcd. Use the applications' setting.",
            HelpName = "memcached|etcd",
        };
        var etcdEndpoints = new Option<string?>("--etcd-endpoints", "--etcd")
        {
            Description = "With --view etcd: the etcd endpoints, http://host:port,...",
            HelpName = "url,...",
        };
        var bound = new Option<int?>("--bound")
        {
            Description = "The shared view's bound B in milliseconds (SharedView.Bound), 100 to 60000. Default 1000. Use the applications' setting.",
            HelpName = "ms",
        };
        var poolName = new Option<string?>("--pool-name")
        {
            Description = "The shared view's pool name (SharedView.PoolName), if the applications set one. Default: derived from --servers, as theirs is.",
            HelpName = "name",
        };
        var poll = new Option<int?>("--poll-interval")
        {
            Description = "How often each server is asked for its stats, in milliseconds, 100 to 60000. Default 1000.",
            HelpName = "ms",
        };
        var command = new Command(
            "monitor",
            "Runs the pool's external monitor until SIGTERM or Ctrl+C: it takes part in the shared view as a frontend with no data traffic, " +
            "marks a stalled or dead server down and fences it for every frontend, and when it returns flushes it exactly once (with the same lock " +
            "as the applications' clients, so several monitors may run) before readmitting it. Serves a live status page at /, " +
            "/api/status (JSON), /api/events (server-sent events), /metrics (Prometheus) and /healthz. " +
            $"Its --timeout defaults to {MonitorSettings.DefaultTimeout.TotalMilliseconds:0} ms (a stalled server is marked down about 1.25 s after it stalls).")
        {
            listen, view, etcdEndpoints, bound, poolName, poll,
        };

        CliAction.Set(command, console, async (parseResult, cancellationToken) =>
        {
            var options = common.ClientOptions(parseResult);
            MonitorSettings.ConfigureClient(options, timeoutGiven: parseResult.GetResult(common.Timeout) is { Implicit: false });
            var store = parseResult.GetValue(view) ?? "memcached";
            switch (store)
            {
                case "memcached":
                    break;
                case "etcd":
                    options.SharedView.UseEtcdView((parseResult.GetValue(etcdEndpoints) ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

                    break;
                default:
                    throw new CliException(ExitCodes.Usage, $"--view: '{store}' is neither memcached nor etcd.");
            }

            if (store != "etcd" && parseResult.GetValue(etcdEndpoints) is not null)
            {
                throw new CliException(ExitCodes.Usage, "--etcd-endpoints needs --view etcd.");
            }

            if (parseResult.GetValue(bound) is { } boundMs)
            {
                if (boundMs is < 100 or > 60_000)
                {
                    throw new CliException(ExitCodes.Usage, $"--bound: {boundMs} is not from 100 to 60000 milliseconds.");
                }

                options.SharedView.Bound = TimeSpan.FromMilliseconds(boundMs);
            }

            options.SharedView.PoolName = parseResult.GetValue(poolName);
            var pollMs = parseResult.GetValue(poll) ?? (int)MonitorSettings.DefaultPollInterval.TotalMilliseconds;
            if (pollMs is < 100 or > 60_000)
            {
                throw new CliException(ExitCodes.Usage, $"--poll-interval: {pollMs} is not from 100 to 60000 milliseconds.");
            }

            System.Net.IPEndPoint address;
            try
            {
                address = MonitorSettings.ParseListen(parseResult.GetValue(listen) ?? MonitorSettings.DefaultListen);
            }
            catch (FormatException error)
            {
                throw new CliException(ExitCodes.Usage, $"--listen: {error.Message}");
            }

            var settings = new MonitorSettings { Listen = address, Client = options, PollInterval = TimeSpan.FromMilliseconds(pollMs) };
            // The client's own validation (a server listed twice, say) throws ArgumentException: CliAction makes it a
            // usage error.
            var host = MonitorHost.Create(settings, store);
            await using (host.ConfigureAwait(false))
            {
                try
                {
                    await host.StartAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (IOException error)
                {
                    throw new CliException(ExitCodes.Usage, $"--listen {address}: {error.Message}");
                }

                await console.OutputText.WriteLineAsync(
                    $"ballast monitor: {host.Address} (pool {host.Monitor.Client.PoolName}, {options.Servers.Count} servers, view in {store}, frontend {host.Monitor.Client.FrontendId}); SIGTERM or Ctrl+C stops it").ConfigureAwait(false);
                await host.WaitForStopAsync(cancellationToken).ConfigureAwait(false);
            }

            await console.OutputText.WriteLineAsync("ballast monitor: stopped").ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }
}
