using System.CommandLine;
using System.Globalization;
using Ballast.Cli.Bench;

namespace Ballast.Cli.Commands;

/// <summary>
/// <c>ballast bench</c>: Ballast's throughput, latency and allocation under load, side by side with memcaslap (a C
/// client, text protocol) and mgblast (a C pipelined meta-get loop: the ceiling), against the same servers.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var servers = new Option<string?>("--servers") { Description = "host:port,... to measure; when omitted, memcached servers are started (and stopped) for the run." };
        var startServers = new Option<int>("--start-servers") { Description = "How many memcached servers to start when --servers is omitted.", DefaultValueFactory = _ => 1 };
        var concurrency = new Option<int>("--concurrency", "-c") { Description = "Concurrent operation loops.", DefaultValueFactory = _ => 32 };
        var duration = new Option<string>("--duration") { Description = "How long to measure: 500ms, 10s, 1m.", DefaultValueFactory = _ => "10s" };
        var warmup = new Option<string>("--warmup") { Description = "Warm-up before measuring (bounded).", DefaultValueFactory = _ => "2s" };
        var valueSize = new Option<int>("--value-size") { Description = "Value size in bytes.", DefaultValueFactory = _ => 100 };
        var keys = new Option<int>("--keys") { Description = "Number of distinct keys (preloaded).", DefaultValueFactory = _ => 1000 };
        var getRatio = new Option<double>("--get-ratio") { Description = "Share of gets among single-key operations (the rest are sets).", DefaultValueFactory = _ => 0.9 };
        var multiget = new Option<int>("--multiget") { Description = "Each operation is a multi-get of N keys; throughput is reported in keys/s." };
        var connections = new Option<int?>("--connections") { Description = "Connections per server (the client's ConnectionsPerServer)." };
        var down = new Option<int>("--down") { Description = "Start 3 servers, measure healthy, kill this many, wait until the client reports them down, measure again." };
        var json = new Option<bool>("--json") { Description = "Print the figures as JSON." };
        var peers = new Option<string>("--peers") { Description = "Peers to run side by side: memcaslap,mgblast or none.", DefaultValueFactory = _ => "memcaslap,mgblast" };
        var mgblastSource = new Option<string?>("--mgblast-source") { Description = "Path of an mgblast.c to compile instead of the one built into the tool." };
        var check = new Option<bool>("--check") { Description = "Exit 1 when a target fails." };
        var intoBuffer = new Option<bool>("--into-buffer") { Description = "Gets copy values into a reused IBufferWriter<byte> (the allocation-free read) instead of returning arrays." };
        var tls = new Option<bool>("--tls") { Description = "Measure TLS next to plain TCP in one run: start one memcached with -Z and one without, and measure Ballast over each in alternating slices." };
        var viewTraffic = new Option<string?>("--view-traffic") { Description = "Instead of load: idle shared-view traffic of one frontend for each pool size, like 3,8,32,64 (servers are started and stopped; --duration per size)." };
        var view = new Option<string>("--view") { Description = "Where the client keeps its shared view: memcached (default) or etcd (started on a free loopback port for the run).", DefaultValueFactory = _ => "memcached" };
        var suite = new Option<bool>("--suite") { Description = "Run every scenario the targets are stated for (c=32, c=256, multi-get 20, c=1, 1 of 3 down, allocation per get)." };

        var command = new Command("bench", "Measure Ballast against memcaslap and the mgblast ceiling on the same servers.")
        {
            servers, startServers, concurrency, duration, warmup, valueSize, keys, getRatio, multiget, connections, down, json, peers, mgblastSource, check, intoBuffer, suite, tls, viewTraffic, view,
        };

        command.SetAction(async (parse, cancellationToken) =>
        {
            if (parse.GetValue(viewTraffic) is { } sizes)
            {
                try
                {
                    return await ViewTrafficBench.RunAsync(ViewTrafficBench.ParseSizes(sizes), DurationParser.Parse(parse.GetValue(duration)!), Console.Out, cancellationToken).ConfigureAwait(false);
                }
                catch (FormatException error)
                {
                    throw new CliException(ExitCodes.Usage, error.Message);
                }
            }

            BenchSettings settings;
            try
            {
                var (memcaslap, mgblast) = BenchSettings.ParsePeers(parse.GetValue(peers));
                settings = new BenchSettings
                {
                    Servers = parse.GetValue(servers),
                    StartServers = Positive(parse.GetValue(startServers), "--start-servers"),
                    Concurrency = Positive(parse.GetValue(concurrency), "--concurrency"),
                    Duration = DurationParser.Parse(parse.GetValue(duration)!),
                    Warmup = DurationParser.Parse(parse.GetValue(warmup)!),
                    ValueSize = Positive(parse.GetValue(valueSize), "--value-size"),
                    Keys = Positive(parse.GetValue(keys), "--keys"),
                    GetRatio = Ratio(parse.GetValue(getRatio)),
                    Multiget = parse.GetValue(multiget),
                    Connections = parse.GetValue(connections) is { } c ? Positive(c, "--connections") : null,
                    Down = parse.GetValue(down),
                    Json = parse.GetValue(json),
                    Memcaslap = memcaslap,
                    Mgblast = mgblast,
                    MgblastSource = parse.GetValue(mgblastSource),
                    Check = parse.GetValue(check),
                    IntoBuffer = parse.GetValue(intoBuffer),
                    Suite = parse.GetValue(suite),
                    View = parse.GetValue(view) switch
                    {
                        "memcached" => SharedViewStoreKind.Memcached,
                        "etcd" => SharedViewStoreKind.Etcd,
                        var other => throw new FormatException($"--view must be memcached or etcd (got '{other}')."),
                    },
                };
            }
            catch (FormatException error)
            {
                throw new CliException(ExitCodes.Usage, error.Message);
            }

            try
            {
                return parse.GetValue(tls)
                    ? await TlsComparison.RunAsync(settings, Console.Out, cancellationToken).ConfigureAwait(false)
                    : await BenchRunner.RunAsync(settings, Console.Out, cancellationToken).ConfigureAwait(false);
            }
            catch (FormatException error)
            {
                throw new CliException(ExitCodes.Usage, error.Message);
            }
        });
        return command;
    }

    private static int Positive(int value, string name)
        => value > 0 ? value : throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"{name} must be above 0 (got {value})."));

    private static double Ratio(double value)
        => value is >= 0 and <= 1 ? value : throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"--get-ratio must be between 0 and 1 (got {value})."));
}
