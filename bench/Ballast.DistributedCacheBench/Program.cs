// The IDistributedCache paths side by side: Ballast's BallastDistributedCache on a local memcached against
// Microsoft.Extensions.Caching.StackExchangeRedis on a local redis-server, in the same process and run. Both servers are
// started here on free loopback ports and killed at the end. The two run in alternating slices (B, R, B, R, ...), one
// pair per round, so that a slowdown of the shared machine weighs on both alike; the ratio is given per round and as
// the median of the rounds. Every loop is bounded in time.
//
//   dotnet run -c Release --project bench/Ballast.DistributedCacheBench -- [--concurrency 32] [--rounds 3]
//       [--slice-seconds 2] [--value-size 512] [--modes get,get-buffer,sliding-get,set,sliding-set,refresh]
//       [--profile-side ballast|redis]   (one side only, for a profiler attached to the process)
//       [--alloc-types]                  (after each mode, one more slice per side that samples allocations by type)
//
// For each side and mode it reports calls/s, p50/p99 latency (every 16th call sampled), the client's CPU per call (this
// process's CPU time over the side's slices / its calls), allocation per call, gen0/gen1 collections per 100k calls,
// the server's CPU per call (/proc/PID/stat) and the bytes the server sent per call (memcached's bytes_written, redis's
// total_net_output_bytes): a refresh that fetched the value would show it there.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Ballast;
using Ballast.DistributedCacheBench;
using Ballast.Extensions;
using Ballast.FaultInjection;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using StackExchange.Redis;

var concurrency = Arg("--concurrency", 32);
var rounds = Arg("--rounds", Arg("--slices", 3));
var sliceSeconds = ArgDouble("--slice-seconds", 2);
var valueSize = Arg("--value-size", 512);
var modeNames = ArgString("--modes", string.Join(',', BenchMode.All.Select(m => m.Name))).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
var modes = modeNames.Select(n => BenchMode.All.FirstOrDefault(m => m.Name == n) ?? throw new ArgumentException($"Unknown mode '{n}'; the modes are {string.Join(", ", BenchMode.All.Select(m => m.Name))}.")).ToList();
const int Keys = 1000;
var inv = CultureInfo.InvariantCulture;
using var sampler = args.Contains("--alloc-types") ? new AllocationSampler() : null;

await using var memcached = await MemcachedProcess.StartAsync(new MemcachedProcessOptions { Threads = 2, MemoryMegabytes = 256 });
var redisPort = FreePort();
using var redis = Process.Start(new ProcessStartInfo("redis-server", ["--port", redisPort.ToString(inv), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes"])
{
    RedirectStandardOutput = true,
    UseShellExecute = false,
}) ?? throw new InvalidOperationException("redis-server did not start (apt-get install redis-server).");
try
{
    await WaitForPortAsync(redisPort);
    await using var client = new MemcachedClient($"{memcached.Host}:{memcached.Port}");
    var ballast = new BallastDistributedCache(client, new BallastDistributedCacheOptions());
    using var redisCache = new RedisCache(new RedisCacheOptions { Configuration = $"127.0.0.1:{redisPort}" });
    using var redisStats = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{redisPort},allowAdmin=true");
    var sides = new Side[]
    {
        new("Ballast (memcached)", ballast, memcached.Pid, async () => long.Parse((await client.StatsAsync())[0].Values!["bytes_written"], inv)),
        new("Redis (StackExchangeRedis)", redisCache, redis.Id, async () => long.Parse((await redisStats.GetServer($"127.0.0.1:{redisPort}").InfoAsync("stats")).SelectMany(g => g).First(p => p.Key == "total_net_output_bytes").Value, inv)),
    };
    if (ArgString("--profile-side", string.Empty) is { Length: > 0 } only)
    {
        // For a profiler attached to this process: one side alone, so that its samples are that side's only.
        sides = sides.Where(side => side.Name.StartsWith(only, StringComparison.OrdinalIgnoreCase)).ToArray();
    }

    var value = new byte[valueSize];
    Random.Shared.NextBytes(value);
    var keys = Enumerable.Range(0, Keys).Select(i => "bench:" + i.ToString(inv)).ToArray();

    Console.WriteLine($"IDistributedCache, {concurrency} concurrent callers, {Keys} keys of {valueSize} bytes, {rounds} rounds of {sliceSeconds:0.##} s per side and mode, interleaved");
    Console.WriteLine($"load average before the run: {LoadAverage()}");
    var summary = new List<string>();
    foreach (var mode in modes)
    {
        var options = mode.EntryOptions;
        foreach (var side in sides)
        {
            foreach (var key in keys)
            {
                await side.Cache.SetAsync(key, value, options);
            }

            await RunSliceAsync(side, mode, keys, value, options, concurrency, TimeSpan.FromSeconds(1)); // warm-up
        }

        var totals = sides.Select(_ => new SideTotals()).ToArray();
        var roundRatios = new List<double>();
        for (var r = 0; r < rounds; r++)
        {
            var opsPerSecond = new double[sides.Length];
            for (var s = 0; s < sides.Length; s++)
            {
                var slice = await RunSliceAsync(sides[s], mode, keys, value, options, concurrency, TimeSpan.FromSeconds(sliceSeconds));
                totals[s].Add(slice);
                opsPerSecond[s] = slice.Calls / slice.Elapsed.TotalSeconds;
            }

            roundRatios.Add(sides.Length > 1 ? opsPerSecond[0] / opsPerSecond[1] : double.NaN);
        }

        // Entries must still be there (a refresh that dropped them would look fast): a sample read through each side.
        var missing = new int[sides.Length];
        for (var s = 0; s < sides.Length; s++)
        {
            for (var i = 0; i < Keys; i += 10)
            {
                missing[s] += await sides[s].Cache.GetAsync(keys[i]) is null ? 1 : 0;
            }
        }

        Console.WriteLine($"\n{mode.Name}: {mode.Description}");
        if (sampler is not null)
        {
            foreach (var side in sides)
            {
                sampler.Reset();
                sampler.Enabled = true;
                await RunSliceAsync(side, mode, keys, value, options, concurrency, TimeSpan.FromSeconds(sliceSeconds));
                sampler.Enabled = false;
                Console.WriteLine($"  {side.Name} allocates (sampled by the runtime, share of bytes): {string.Join(", ", sampler.Top(8).Select(t => $"{t.Type} {t.Share:P0}"))}");
            }
        }

        for (var s = 0; s < sides.Length; s++)
        {
            var t = totals[s];
            var perCall = 1.0 / t.Calls;
            Console.WriteLine(string.Create(inv, $"  {sides[s].Name,-28} {t.Calls / t.Elapsed.TotalSeconds,10:N0} calls/s   p50 {t.Percentile(50),6:N0} us   p99 {t.Percentile(99),6:N0} us   client CPU {t.Resources.ClientCpu.TotalMicroseconds * perCall,5:0.00} us/call   alloc {t.Resources.Allocated * perCall,7:N0} B/call   gen0/gen1 per 100k calls {t.Resources.Gen0 * perCall * 1e5,5:0.0}/{t.Resources.Gen1 * perCall * 1e5,5:0.0}   server CPU {t.Resources.ServerCpu.TotalMicroseconds * perCall,5:0.00} us/call   server sent {t.Resources.ServerBytesOut * perCall,6:N0} B/call   misses {t.Misses}   missing after {missing[s]} of {Keys / 10}"));
        }

        if (sides.Length < 2)
        {
            continue;
        }

        var median = Median(roundRatios);
        var cpuRatio = totals[0].Resources.ClientCpu.TotalMicroseconds / totals[0].Calls / (totals[1].Resources.ClientCpu.TotalMicroseconds / totals[1].Calls);
        Console.WriteLine(string.Create(inv, $"  ratio Ballast / Redis per round: {string.Join(", ", roundRatios.Select(x => x.ToString("0.00", inv) + "x"))}; median {median:0.00}x; client CPU per call Ballast / Redis {cpuRatio:0.00}"));
        summary.Add(string.Create(inv, $"| {mode.Name} | {totals[0].Calls / totals[0].Elapsed.TotalSeconds:N0} | {totals[1].Calls / totals[1].Elapsed.TotalSeconds:N0} | {median:0.00}x | {totals[0].Resources.ClientCpu.TotalMicroseconds / totals[0].Calls:0.00} / {totals[1].Resources.ClientCpu.TotalMicroseconds / totals[1].Calls:0.00} | {(double)totals[0].Resources.Allocated / totals[0].Calls:N0} / {(double)totals[1].Resources.Allocated / totals[1].Calls:N0} | {(double)totals[0].Resources.ServerBytesOut / totals[0].Calls:N0} / {(double)totals[1].Resources.ServerBytesOut / totals[1].Calls:N0} |"));
    }

    Console.WriteLine($"\nc={concurrency}, median of {rounds} interleaved rounds; load average after the run: {LoadAverage()}");
    Console.WriteLine("| mode | Ballast calls/s | Redis calls/s | ratio (median) | client CPU us/call (Ballast / Redis) | alloc B/call (Ballast / Redis) | server sent B/call (Ballast / Redis) |");
    Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    foreach (var line in summary)
    {
        Console.WriteLine(line);
    }
}
finally
{
    if (!redis.HasExited)
    {
        redis.Kill();
        await redis.WaitForExitAsync();
    }
}

static async Task<SliceResult> RunSliceAsync(Side side, BenchMode mode, string[] keys, byte[] value, DistributedCacheEntryOptions options, int concurrency, TimeSpan duration)
{
    var workers = Enumerable.Range(0, concurrency).Select(w => new LoadWorker(w * 7919)).ToArray();
    GC.Collect();
    GC.WaitForPendingFinalizers();
    var before = ResourceMeter.Read(side.ServerPid, await side.ServerBytesOut());
    var started = Stopwatch.GetTimestamp();
    var deadline = started + (long)(duration.TotalSeconds * Stopwatch.Frequency);
    var tasks = new Task[workers.Length];
    for (var i = 0; i < workers.Length; i++)
    {
        var worker = workers[i];
        tasks[i] = Task.Run(() => worker.RunAsync(side.Cache, mode, keys, value, options, deadline));
    }

    await Task.WhenAll(tasks);
    var elapsed = Stopwatch.GetElapsedTime(started);
    var used = ResourceMeter.Read(side.ServerPid, await side.ServerBytesOut()) - before;
    return new SliceResult(workers.Sum(w => w.Calls), workers.Sum(w => w.Misses), elapsed, used, workers.SelectMany(w => w.SampledMicroseconds).ToList());
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
}

static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

double ArgDouble(string name, double fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? double.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

string ArgString(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

static async Task WaitForPortAsync(int port)
{
    var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
    while (true)
    {
        try
        {
            using var socket = new TcpClient();
            await socket.ConnectAsync(IPAddress.Loopback, port);
            return;
        }
        catch (SocketException) when (DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
    }
}

internal sealed record Side(string Name, IDistributedCache Cache, int ServerPid, Func<Task<long>> ServerBytesOut);

internal sealed record SliceResult(long Calls, long Misses, TimeSpan Elapsed, ResourceReading Resources, List<double> Samples);

internal sealed class SideTotals
{
    private readonly List<double> _samples = [];

    public long Calls { get; private set; }

    public long Misses { get; private set; }

    public TimeSpan Elapsed { get; private set; }

    public ResourceReading Resources { get; private set; }

    public void Add(SliceResult slice)
    {
        Calls += slice.Calls;
        Misses += slice.Misses;
        Elapsed += slice.Elapsed;
        Resources += slice.Resources;
        _samples.AddRange(slice.Samples);
    }

    public double Percentile(double p)
    {
        if (_samples.Count == 0)
        {
            return 0;
        }

        _samples.Sort();
        return _samples[Math.Min(_samples.Count - 1, (int)(_samples.Count * p / 100))];
    }
}
