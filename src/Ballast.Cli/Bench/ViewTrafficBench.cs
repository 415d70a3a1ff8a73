using System.Globalization;
using Ballast.FaultInjection;

namespace Ballast.Cli.Bench;

/// <summary>
/// <c>ballast bench --view-traffic 3,8,32,64</c>: what the shared view alone costs the servers while the application is
/// idle. For each pool size it starts that many memcached processes (<c>-m 8</c>), one client with the default view,
/// waits for the view to settle, then counts for a while what the servers received (memcached's own <c>cmd_get</c>
/// (keys read), <c>cmd_set</c> and <c>bytes_read</c>) and reports it per second, for one frontend.
/// </summary>
internal static class ViewTrafficBench
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static async Task<int> RunAsync(IReadOnlyList<int> poolSizes, TimeSpan duration, TextWriter output, CancellationToken cancellationToken)
    {
        await output.WriteLineAsync(string.Create(Inv, $"Idle shared-view traffic of one frontend (default Bound 1 s, refresh every 250 ms), measured over {duration.TotalSeconds:0} s")).ConfigureAwait(false);
        await output.WriteLineAsync("servers  witnesses  keys read/s  sets/s  bytes received/s  keys read/s per server").ConfigureAwait(false);
        foreach (var size in poolSizes)
        {
            var servers = new List<MemcachedProcess>();
            try
            {
                for (var i = 0; i < size; i++)
                {
                    servers.Add(await MemcachedProcess.StartAsync(new MemcachedProcessOptions { MemoryMegabytes = 8, Threads = 1 }, cancellationToken).ConfigureAwait(false));
                }

                var options = new MemcachedClientOptions();
                foreach (var server in servers)
                {
                    options.Servers.Add(new ServerEndPoint(server.Host, server.Port));
                }

                await using var client = new MemcachedClient(options);
                await client.GetAsync("warm-up", cancellationToken).ConfigureAwait(false);
                await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
                var before = await CountersAsync(servers, cancellationToken).ConfigureAwait(false);
                await Task.Delay(duration, cancellationToken).ConfigureAwait(false);
                var after = await CountersAsync(servers, cancellationToken).ConfigureAwait(false);
                var seconds = duration.TotalSeconds;
                var gets = (after.Gets - before.Gets) / seconds;
                var sets = (after.Sets - before.Sets) / seconds;
                var bytes = (after.BytesRead - before.BytesRead) / seconds;
                var witnesses = servers.Count(s => after.GetsPerServer[servers.IndexOf(s)] > before.GetsPerServer[servers.IndexOf(s)]);
                await output.WriteLineAsync(string.Create(Inv, $"{size,7}  {witnesses,9}  {gets,11:0}  {sets,6:0}  {bytes,16:0}  {gets / size,22:0.0}")).ConfigureAwait(false);
            }
            finally
            {
                foreach (var server in servers)
                {
                    await server.DisposeAsync().ConfigureAwait(false);
                }
            }
        }

        return 0;
    }

    /// <summary>Parses <c>3,8,32,64</c>.</summary>
    public static IReadOnlyList<int> ParseSizes(string text)
    {
        var sizes = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => int.TryParse(s, NumberStyles.None, Inv, out var n) && n is >= 1 and <= 128 ? n : throw new FormatException($"--view-traffic takes pool sizes from 1 to 128, like 3,8,32,64 (got '{s}')."))
            .ToArray();
        return sizes.Length > 0 ? sizes : throw new FormatException("--view-traffic needs at least one pool size, like 3,8,32,64.");
    }

    private static async Task<(long Gets, long Sets, long BytesRead, long[] GetsPerServer)> CountersAsync(List<MemcachedProcess> servers, CancellationToken cancellationToken)
    {
        var options = new MemcachedClientOptions();
        foreach (var server in servers)
        {
            options.Servers.Add(new ServerEndPoint(server.Host, server.Port));
        }

        // A plain client with no view of its own, so that reading the counters adds nothing to what is counted.
        options.SharedView.Enabled = false;
        await using var direct = new MemcachedClient(options);
        var stats = await direct.StatsAsync(cancellationToken).ConfigureAwait(false);
        long Sum(string name) => stats.Sum(s => long.Parse(s.Values![name], Inv));
        return (Sum("cmd_get"), Sum("cmd_set"), Sum("bytes_read"), stats.Select(s => long.Parse(s.Values!["cmd_get"], Inv)).ToArray());
    }
}
