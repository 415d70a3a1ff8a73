using System.Globalization;
using System.Text;
using System.Text.Json;
using Ballast.FaultInjection;

namespace Ballast.Cli.Bench;

/// <summary>One scenario's figures: Ballast's, the peers', and the targets checked.</summary>
internal sealed class BenchReport
{
    public required string Scenario { get; init; }

    public required BenchSettings Settings { get; init; }

    public int ServerCount { get; set; }

    public LoadResult? Ballast { get; set; }

    public LoadResult? Degraded { get; set; }

    public double OperationTimeoutMs { get; set; }

    public Memcaslap.Result? Memcaslap { get; set; }

    public string? MemcaslapNote { get; set; }

    public double? MgblastKeysPerSecond { get; set; }

    public string? MgblastNote { get; set; }

    /// <summary>memcaslap's own CPU time per operation (its TPS times its run time).</summary>
    public double? MemcaslapCpuMicrosPerOp { get; set; }

    /// <summary>mgblast's own CPU time per key, over its slices.</summary>
    public double? MgblastCpuMicrosPerKey { get; set; }

    /// <summary>The server's CPU time per key while mgblast ran: what one request costs memcached at the ceiling.</summary>
    public double? MgblastServerCpuMicrosPerKey { get; set; }

    public List<(string Name, bool? Pass, string Detail)> Targets { get; } = [];

    public bool Failed => Targets.Any(t => t.Pass == false);
}

/// <summary>Runs <c>ballast bench</c>: servers, preload, warm-up, the measured phase, the peers, the targets.</summary>
internal static class BenchRunner
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static async Task<int> RunAsync(BenchSettings settings, TextWriter output, CancellationToken cancellationToken)
    {
        var scenarios = settings.Suite ? Suite(settings) : [(Name: Describe(settings), Settings: settings)];
        var reports = new List<BenchReport>();
        string? tempDirectory = null;
        try
        {
            foreach (var (name, scenario) in scenarios)
            {
                if (!settings.Json)
                {
                    await output.WriteLineAsync($"== {name}").ConfigureAwait(false);
                }

                var report = new BenchReport { Scenario = name, Settings = scenario };
                await RunScenarioAsync(report, () => tempDirectory ??= Directory.CreateTempSubdirectory("ballast-bench-").FullName, settings.Json ? TextWriter.Null : output, cancellationToken).ConfigureAwait(false);
                reports.Add(report);
                if (!settings.Json)
                {
                    await output.WriteAsync(Text(report)).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            if (tempDirectory is not null)
            {
                try
                {
                    Directory.Delete(tempDirectory, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        }

        if (settings.Json)
        {
            await output.WriteLineAsync(Json(reports, settings.Suite)).ConfigureAwait(false);
        }

        return settings.Check && reports.Any(r => r.Failed) ? 1 : 0;
    }

    /// <summary>The scenarios the targets are stated for, each with the caller's duration and peers.</summary>
    internal static List<(string Name, BenchSettings Settings)> Suite(BenchSettings s)
    {
        var single = s with { Suite = false, Servers = null, StartServers = 1, Multiget = 0, Down = 0 };
        return
        [
            ("single-key, concurrency 32, 1 server", single with { Concurrency = 32 }),
            ("single-key, concurrency 256, 1 server", single with { Concurrency = 256 }),
            ("multi-get 20, concurrency 32, 1 server", single with { Concurrency = 32, Multiget = 20 }),
            ("single-key, concurrency 1, 1 server", single with { Concurrency = 1 }),
            ("single-key, concurrency 32, 1 of 3 servers down", single with { Concurrency = 32, StartServers = 3, Down = 1, Memcaslap = false, Mgblast = false }),
            ("gets only, concurrency 32, 1 server: allocation of a get returning its value", single with { Concurrency = 32, GetRatio = 1, IntoBuffer = false, Memcaslap = false, Mgblast = false }),
            ("gets only, concurrency 32, 1 server: allocation of a get into an IBufferWriter", single with { Concurrency = 32, GetRatio = 1, IntoBuffer = true, Memcaslap = false, Mgblast = false }),
        ];
    }

    private static string Describe(BenchSettings s)
        => (s.Multiget > 1 ? $"multi-get {s.Multiget}" : "single-key")
           + $", concurrency {s.Concurrency}"
           + (s.Servers is null ? $", {Math.Max(s.StartServers, s.Down > 0 ? 3 : 1)} started server(s)" : $", servers {s.Servers}")
           + (s.Down > 0 ? $", {s.Down} down" : string.Empty)
           + (s.IntoBuffer ? ", gets into a buffer" : string.Empty);

    private static async Task RunScenarioAsync(BenchReport report, Func<string> tempDirectory, TextWriter log, CancellationToken cancellationToken)
    {
        var s = report.Settings;
        var started = new List<MemcachedProcess>();
        try
        {
            List<ServerEndPoint> servers;
            if (s.Servers is null)
            {
                var count = Math.Max(s.StartServers, s.Down > 0 ? 3 : 1);
                for (var i = 0; i < count; i++)
                {
                    started.Add(await MemcachedProcess.StartAsync(new MemcachedProcessOptions { Threads = 2, MemoryMegabytes = 256 }, cancellationToken).ConfigureAwait(false));
                }

                servers = started.Select(p => new ServerEndPoint(p.Host, p.Port)).ToList();
            }
            else
            {
                servers = [.. ServerEndPoint.ParseList(s.Servers)];
                if (s.Down > 0)
                {
                    throw new ArgumentException("--down kills servers this command started itself: omit --servers.");
                }
            }

            report.ServerCount = servers.Count;
            var options = new MemcachedClientOptions();
            foreach (var server in servers)
            {
                options.Servers.Add(server);
            }

            if (s.Connections is { } connections)
            {
                options.ConnectionsPerServer = connections;
            }

            await using var etcd = s.View == SharedViewStoreKind.Etcd ? await EtcdProcess.StartAsync(ct: cancellationToken).ConfigureAwait(false) : null;
            if (etcd is not null)
            {
                // The view in etcd (started for the run on a free loopback port): reads must not wait for it either.
                options.SharedView.UseEtcdView([etcd.Endpoint]);
            }

            report.OperationTimeoutMs = options.OperationTimeout.TotalMilliseconds;
            var keys = BallastLoad.KeyNames(s.Keys);
            var value = BallastLoad.Value(s.ValueSize);
            var load = new LoadSettings(s.Concurrency, s.Duration, s.ValueSize, s.Keys, s.GetRatio, s.Multiget, s.IntoBuffer, started.Count == 1 ? started[0].Pid : 0);
            var warmup = load with { Duration = s.Warmup };

            await using (var client = new MemcachedClient(options))
            {
                await log.WriteLineAsync($"  preloading {keys.Length} keys of {s.ValueSize} bytes on {servers.Count} server(s)").ConfigureAwait(false);
                await BallastLoad.PreloadAsync(client, keys, value, cancellationToken).ConfigureAwait(false);
                await BallastLoad.RunAsync(client, keys, value, warmup, cancellationToken).ConfigureAwait(false);
                var mgblast = s.Down == 0 && s.Mgblast ? await PrepareMgblastAsync(report, servers[0], tempDirectory, cancellationToken).ConfigureAwait(false) : null;
                if (mgblast is null)
                {
                    await log.WriteLineAsync($"  measuring Ballast for {s.Duration.TotalSeconds:0.###} s").ConfigureAwait(false);
                    report.Ballast = await BallastLoad.RunAsync(client, keys, value, load, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    // The ceiling is measured in slices between Ballast's, so both see the machine in the same state.
                    var slices = Math.Clamp((int)(s.Duration.TotalSeconds / 2), 1, 5);
                    var ceilings = new List<double>();
                    double mgblastKeys = 0;
                    var mgblastCpu = TimeSpan.Zero;
                    var serverCpuUnderMgblast = TimeSpan.Zero;
                    await log.WriteLineAsync($"  measuring Ballast for {s.Duration.TotalSeconds:0.###} s in {slices} slice(s), each followed by mgblast for as long: mgblast {servers[0].Port} 2 200 {(s.Duration / slices).TotalSeconds:0.###}").ConfigureAwait(false);
                    report.Ballast = await BallastLoad.RunInterleavedAsync(
                        client,
                        keys,
                        value,
                        load,
                        slices,
                        async duration =>
                        {
                            var serverBefore = load.ServerPid > 0 ? ProcessCpu.Of(load.ServerPid) : TimeSpan.Zero;
                            if (await RunMgblastSliceAsync(report, mgblast, servers[0], duration, cancellationToken).ConfigureAwait(false) is { } slice)
                            {
                                ceilings.Add(slice.KeysPerSecond);
                                mgblastKeys += slice.KeysPerSecond * duration.TotalSeconds;
                                mgblastCpu += slice.Cpu;
                                serverCpuUnderMgblast += load.ServerPid > 0 ? ProcessCpu.Of(load.ServerPid) - serverBefore : TimeSpan.Zero;
                            }
                        },
                        cancellationToken).ConfigureAwait(false);
                    report.MgblastKeysPerSecond = ceilings.Count == slices ? ceilings.Average() : null;
                    report.MgblastCpuMicrosPerKey = mgblastKeys > 0 ? mgblastCpu.TotalMicroseconds / mgblastKeys : null;
                    report.MgblastServerCpuMicrosPerKey = mgblastKeys > 0 && load.ServerPid > 0 ? serverCpuUnderMgblast.TotalMicroseconds / mgblastKeys : null;
                }

                if (s.Down > 0)
                {
                    await TakeDownAsync(client, started, s.Down, keys, log, cancellationToken).ConfigureAwait(false);
                    await BallastLoad.RunAsync(client, keys, value, warmup, cancellationToken).ConfigureAwait(false);
                    await log.WriteLineAsync($"  measuring Ballast with {s.Down} of {servers.Count} down for {s.Duration.TotalSeconds:0.###} s").ConfigureAwait(false);
                    report.Degraded = await BallastLoad.RunAsync(client, keys, value, load, cancellationToken).ConfigureAwait(false);
                }
            }

            if (s.Down == 0 && s.Memcaslap)
            {
                await RunMemcaslapAsync(report, servers, tempDirectory, log, cancellationToken).ConfigureAwait(false);
            }

            EvaluateTargets(report);
        }
        finally
        {
            foreach (var process in started)
            {
                await process.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Kills servers and waits, bounded, until the client holds each of them down.</summary>
    private static async Task TakeDownAsync(MemcachedClient client, List<MemcachedProcess> started, int down, string[] keys, TextWriter log, CancellationToken cancellationToken)
    {
        var victims = started.Take(Math.Min(down, started.Count - 1)).ToList();
        var failed = 0;
        client.ServerFailed += (_, _) => Interlocked.Increment(ref failed);
        foreach (var victim in victims)
        {
            victim.Kill();
        }

        var endpoints = victims.Select(v => new ServerEndPoint(v.Host, v.Port)).ToList();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        var i = 0;
        while (endpoints.Any(e => client.GetServerState(e) == ServerState.Up))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The client did not report the killed server(s) down within 15 s.");
            }

            // Traffic lets the client notice: a read on a dead connection fails, and its keys are misses meanwhile.
            await client.GetAsync(keys[i++ % keys.Length], cancellationToken).ConfigureAwait(false);
            await Task.Delay(5, cancellationToken).ConfigureAwait(false);
        }

        await log.WriteLineAsync($"  killed {victims.Count} server(s); the client reports them {string.Join(", ", endpoints.Select(e => client.GetServerState(e)))} (ServerFailed raised {Volatile.Read(ref failed)} time(s))").ConfigureAwait(false);
    }

    private static async Task RunMemcaslapAsync(BenchReport report, List<ServerEndPoint> servers, Func<string> tempDirectory, TextWriter log, CancellationToken cancellationToken)
    {
        var s = report.Settings;
        if (!OnPath("memcaslap"))
        {
            report.MemcaslapNote = "memcaslap is not installed (Debian: libmemcached-tools)";
            return;
        }

        var config = Path.Combine(tempDirectory(), "memcaslap.cfg");
        await File.WriteAllTextAsync(config, Memcaslap.ConfigFile(16, s.ValueSize, s.GetRatio), cancellationToken).ConfigureAwait(false);
        var seconds = Math.Max(1, (int)Math.Round(s.Duration.TotalSeconds));
        var threads = Math.Max(Math.Min(s.Concurrency, Environment.ProcessorCount), servers.Count);
        var list = string.Join(',', servers.Select(e => $"{e.Host}:{e.Port}"));
        var arguments = Memcaslap.Arguments(list, threads, Math.Max(s.Concurrency, threads), seconds, s.ValueSize, s.Keys, config, s.Multiget);
        await log.WriteLineAsync($"  running memcaslap {string.Join(' ', arguments)}").ConfigureAwait(false);
        var outcome = await ChildProcess.RunAsync("memcaslap", arguments, TimeSpan.FromSeconds(seconds + 30), cancellationToken).ConfigureAwait(false);
        report.Memcaslap = Memcaslap.Parse(outcome.Output);
        if (report.Memcaslap is { Tps: > 0 } parsed)
        {
            report.MemcaslapCpuMicrosPerOp = outcome.Cpu.TotalMicroseconds / (parsed.Tps * seconds);
        }
        if (report.Memcaslap is null)
        {
            var tail = outcome.Output.Length > 400 ? outcome.Output[^400..] : outcome.Output;
            report.MemcaslapNote = outcome.TimedOut ? "memcaslap timed out and was killed" : $"memcaslap printed no result (exit {outcome.ExitCode}): {tail.Trim()}";
        }
    }

    /// <summary>Finds and compiles mgblast; null (with a note in the report) when it cannot be run.</summary>
    private static async Task<string?> PrepareMgblastAsync(BenchReport report, ServerEndPoint server, Func<string> tempDirectory, CancellationToken cancellationToken)
    {
        var s = report.Settings;
        if (server.Host is not ("127.0.0.1" or "localhost"))
        {
            report.MgblastNote = $"mgblast only talks to 127.0.0.1, and the first server is {server}";
            return null;
        }

        var source = Mgblast.FindSource(s.MgblastSource, tempDirectory());
        if (source is null)
        {
            report.MgblastNote = $"--mgblast-source {s.MgblastSource}: no such file";
            return null;
        }

        var binary = Path.Combine(tempDirectory(), "mgblast");
        if (!File.Exists(binary))
        {
            var (built, error) = await Mgblast.CompileAsync(source, tempDirectory(), cancellationToken).ConfigureAwait(false);
            if (built is null)
            {
                report.MgblastNote = error;
                return null;
            }
        }

        return binary;
    }

    /// <summary>Runs mgblast (2 connections, 200 deep) for <paramref name="duration"/>; its keys/s and CPU time, or null with a note.</summary>
    private static async Task<(double KeysPerSecond, TimeSpan Cpu)?> RunMgblastSliceAsync(BenchReport report, string binary, ServerEndPoint server, TimeSpan duration, CancellationToken cancellationToken)
    {
        var arguments = new[] { server.Port.ToString(Inv), "2", "200", duration.TotalSeconds.ToString("0.###", Inv) };
        var outcome = await ChildProcess.RunAsync(binary, arguments, duration + TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        var keysPerSecond = Mgblast.Parse(outcome.Output);
        if (keysPerSecond is null)
        {
            report.MgblastNote = outcome.TimedOut ? "mgblast timed out and was killed" : $"mgblast printed no result (exit {outcome.ExitCode}): {outcome.Output.Trim()}";
        }

        return keysPerSecond is { } k ? (k, outcome.Cpu) : null;
    }

    internal static void EvaluateTargets(BenchReport report)
    {
        var s = report.Settings;
        var b = report.Ballast!;
        var m = report.Memcaslap;
        var single = s.Multiget <= 1;
        if (b.KeysRead > 0)
        {
            // Every key was preloaded: a miss was served by the client (a lapsed view lease, a server marked down), costs
            // no network, and would otherwise pass for speed.
            report.Targets.Add(("reads of preloaded keys hit (>= 99.9%), so misses do not pass for speed", b.HitRatio >= 0.999, string.Create(Inv, $"{b.HitRatio:P2} of {b.KeysRead:N0} keys read")));
        }

        if (m is not null && single && s.Concurrency == 32 && report.ServerCount == 1)
        {
            var ratio = b.OpsPerSecond / m.Tps;
            report.Targets.Add(("single-key ops/s >= 2x memcaslap (concurrency 32, 1 server)", ratio >= 2, $"{ratio:0.00}x ({b.OpsPerSecond:0} vs {m.Tps:0})"));
        }

        if (report.MgblastKeysPerSecond is { } ceiling && single && s.Concurrency >= 256)
        {
            var share = b.OpsPerSecond / ceiling;
            report.Targets.Add(("ops/s >= 30% of mgblast (concurrency 256)", share >= 0.30, $"{share:P1} ({b.OpsPerSecond:0} vs {ceiling:0} keys/s)"));
        }

        if (m is not null && !single)
        {
            var ratio = b.KeysPerSecond / m.Tps;
            report.Targets.Add(($"multi-get keys/s >= 1x memcaslap -d {s.Multiget}", ratio >= 1, $"{ratio:0.00}x ({b.KeysPerSecond:0} vs {m.Tps:0} keys/s)"));
        }

        if (m?.GetP99Microseconds is { } p99 && single && s.Concurrency == 1)
        {
            var limit = 1.2 * p99 / 1000;
            report.Targets.Add(("p99 at concurrency 1 <= 1.2x memcaslap's", b.P99Ms <= limit, string.Create(Inv, $"{b.P99Ms:0.000} ms vs memcaslap get p99 in [{m.GetP99BucketLowMicroseconds / 1000:0.000}, {p99 / 1000:0.000}] ms (log2 bucket; compared with its upper edge)")));
        }

        if (single && s.GetRatio >= 1 && s.IntoBuffer)
        {
            // Below one byte per get: what is left over millions of gets is the run's own bookkeeping (timers).
            report.Targets.Add(("no allocation per get into an IBufferWriter", b.AllocBytesPerOp < 1, string.Create(Inv, $"{b.AllocBytesPerOp:0.00} bytes/get")));
        }
        else if (single && s.GetRatio >= 1)
        {
            var value = ArrayBytes(s.ValueSize);
            report.Targets.Add(("no allocation per get beyond the returned value", b.AllocBytesPerOp < value + 1, string.Create(Inv, $"{b.AllocBytesPerOp:0.00} bytes/get; the {s.ValueSize}-byte value's array takes {value} bytes")));
        }
        else
        {
            report.Targets.Add(("allocation per operation (report only)", null, string.Create(Inv, $"{b.AllocBytesPerOp:0} bytes/op")));
        }

        if (report.Degraded is { } d)
        {
            var ratio = d.OpsPerSecond / b.OpsPerSecond;
            report.Targets.Add(($"with {s.Down} of {report.ServerCount} down >= 90% of healthy throughput", ratio >= 0.9, $"{ratio:P1} ({d.OpsPerSecond:0} vs {b.OpsPerSecond:0} ops/s)"));
            var waited = d.MaxMs >= report.OperationTimeoutMs * 0.9;
            report.Targets.Add(("no operation waited for a timeout while down", !waited, string.Create(Inv, $"max latency {d.MaxMs:0.0} ms vs operation timeout {report.OperationTimeoutMs:0} ms; {d.Errors} errors")));
        }
    }

    /// <summary>What a byte array of <paramref name="length"/> takes on the 64-bit heap: header, length, data rounded to 8.</summary>
    internal static int ArrayBytes(int length) => IntPtr.Size * 3 + ((length + IntPtr.Size - 1) & ~(IntPtr.Size - 1));

    private static string Text(BenchReport r)
    {
        var sb = new StringBuilder();
        void Line(FormattableString text) => sb.AppendLine(text.ToString(Inv));
        var b = r.Ballast!;
        var unit = b.KeysPerOp > 1 ? "keys/s" : "ops/s";
        Line($"  Ballast: {(b.KeysPerOp > 1 ? b.KeysPerSecond : b.OpsPerSecond),12:N0} {unit}  ({b.Ops:N0} ops in {b.Elapsed.TotalSeconds:0.00} s, {b.Errors} errors)");
        Line($"           p50 {b.P50Ms:0.000} ms  p99 {b.P99Ms:0.000} ms  p99.9 {b.P999Ms:0.000} ms  max {b.MaxMs:0.000} ms  alloc {b.AllocBytesPerOp:0} B/op  hits {b.HitRatio:P2} of {b.KeysRead:N0} keys read");
        Line($"           client CPU {b.ClientCpuMicrosPerOp:0.00} us/op{(b.ServerCpu > TimeSpan.Zero ? $"  server CPU {b.ServerCpuMicrosPerOp:0.00} us/op" : string.Empty)}");
        if (r.Degraded is { } d)
        {
            Line($"  Ballast, {r.Settings.Down} down: {d.OpsPerSecond,12:N0} ops/s  p50 {d.P50Ms:0.000} ms  p99 {d.P99Ms:0.000} ms  p99.9 {d.P999Ms:0.000} ms  max {d.MaxMs:0.000} ms  alloc {d.AllocBytesPerOp:0} B/op");
        }

        if (r.Memcaslap is { } m)
        {
            Line($"  memcaslap: {m.Tps,12:N0} TPS  get p99 {(m.GetP99Microseconds is { } p ? (p / 1000).ToString("0.000", Inv) + " ms" : "n/a")}  client CPU {(r.MemcaslapCpuMicrosPerOp is { } mc ? mc.ToString("0.00", Inv) + " us/op" : "n/a")}  -> Ballast/memcaslap {(b.KeysPerOp > 1 ? b.KeysPerSecond : b.OpsPerSecond) / m.Tps:0.00}x");
        }
        else if (r.MemcaslapNote is not null)
        {
            Line($"  memcaslap: {r.MemcaslapNote}");
        }

        if (r.MgblastKeysPerSecond is { } g)
        {
            Line($"  mgblast (ceiling): {g,12:N0} keys/s  client CPU {(r.MgblastCpuMicrosPerKey is { } gc ? gc.ToString("0.00", Inv) + " us/key" : "n/a")}  server CPU {(r.MgblastServerCpuMicrosPerKey is { } gs ? gs.ToString("0.00", Inv) + " us/key" : "n/a")}  -> Ballast share {b.KeysPerSecond / g:P1}");
        }
        else if (r.MgblastNote is not null)
        {
            Line($"  mgblast: {r.MgblastNote}");
        }

        foreach (var (name, pass, detail) in r.Targets)
        {
            Line($"  {(pass is null ? "INFO" : pass.Value ? "PASS" : "FAIL")} {name}: {detail}");
        }

        return sb.ToString();
    }

    private static string Json(List<BenchReport> reports, bool suite)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            if (suite)
            {
                json.WriteStartArray();
            }

            foreach (var r in reports)
            {
                WriteReport(json, r);
            }

            if (suite)
            {
                json.WriteEndArray();
            }
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void WriteReport(Utf8JsonWriter json, BenchReport r)
    {
        var s = r.Settings;
        var b = r.Ballast!;
        json.WriteStartObject();
        json.WriteString("scenario", r.Scenario);
        json.WriteNumber("servers", r.ServerCount);
        json.WriteNumber("concurrency", s.Concurrency);
        json.WriteNumber("duration_s", s.Duration.TotalSeconds);
        json.WriteNumber("value_size", s.ValueSize);
        json.WriteNumber("keys", s.Keys);
        json.WriteNumber("get_ratio", s.GetRatio);
        json.WriteNumber("multiget", Math.Max(1, s.Multiget));
        json.WriteBoolean("into_buffer", s.IntoBuffer);
        // For a multi-get, an operation's figure is keys per second (as the issue states it); calls are apart.
        json.WriteNumber("ops_per_sec", Math.Round(b.KeysPerSecond));
        json.WriteNumber("keys_per_sec", Math.Round(b.KeysPerSecond));
        json.WriteNumber("calls_per_sec", Math.Round(b.OpsPerSecond));
        json.WriteNumber("p50_ms", Math.Round(b.P50Ms, 4));
        json.WriteNumber("p99_ms", Math.Round(b.P99Ms, 4));
        json.WriteNumber("p999_ms", Math.Round(b.P999Ms, 4));
        json.WriteNumber("max_ms", Math.Round(b.MaxMs, 4));
        json.WriteNumber("alloc_bytes_per_op", Math.Round(b.AllocBytesPerOp, 1));
        json.WriteNumber("client_cpu_us_per_op", Math.Round(b.ClientCpuMicrosPerOp, 3));
        if (b.ServerCpu > TimeSpan.Zero)
        {
            json.WriteNumber("server_cpu_us_per_op", Math.Round(b.ServerCpuMicrosPerOp, 3));
        }
        json.WriteNumber("errors", b.Errors);
        json.WriteNumber("keys_read", b.KeysRead);
        json.WriteNumber("hit_ratio", Math.Round(b.HitRatio, 6));
        if (r.Degraded is { } d)
        {
            json.WriteNumber("down", s.Down);
            json.WriteNumber("down_ops_per_sec", Math.Round(d.OpsPerSecond));
            json.WriteNumber("down_p99_ms", Math.Round(d.P99Ms, 4));
            json.WriteNumber("down_max_ms", Math.Round(d.MaxMs, 4));
            json.WriteNumber("down_ratio", Math.Round(d.OpsPerSecond / b.OpsPerSecond, 4));
            json.WriteNumber("operation_timeout_ms", r.OperationTimeoutMs);
        }

        if (r.Memcaslap is { } m)
        {
            json.WriteNumber("memcaslap_tps", m.Tps);
            if (m.GetP99Microseconds is { } p99)
            {
                json.WriteNumber("memcaslap_get_p99_ms", p99 / 1000);
            }

            json.WriteNumber("ratio_vs_memcaslap", Math.Round(b.KeysPerSecond / m.Tps, 3));
            if (r.MemcaslapCpuMicrosPerOp is { } mc)
            {
                json.WriteNumber("memcaslap_cpu_us_per_op", Math.Round(mc, 3));
            }
        }
        else if (r.MemcaslapNote is not null)
        {
            json.WriteString("memcaslap_note", r.MemcaslapNote);
        }

        if (r.MgblastKeysPerSecond is { } g)
        {
            json.WriteNumber("mgblast_keys_per_sec", g);
            json.WriteNumber("share_of_mgblast", Math.Round(b.KeysPerSecond / g, 4));
            if (r.MgblastCpuMicrosPerKey is { } gc)
            {
                json.WriteNumber("mgblast_cpu_us_per_key", Math.Round(gc, 3));
            }

            if (r.MgblastServerCpuMicrosPerKey is { } gs)
            {
                json.WriteNumber("mgblast_server_cpu_us_per_key", Math.Round(gs, 3));
            }
        }
        else if (r.MgblastNote is not null)
        {
            json.WriteString("mgblast_note", r.MgblastNote);
        }

        json.WriteStartArray("targets");
        foreach (var (name, pass, detail) in r.Targets)
        {
            json.WriteStartObject();
            json.WriteString("name", name);
            if (pass is { } p)
            {
                json.WriteBoolean("pass", p);
            }
            else
            {
                json.WriteNull("pass");
            }

            json.WriteString("detail", detail);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static bool OnPath(string program)
        => (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Any(dir => File.Exists(Path.Combine(dir, program)));
}
