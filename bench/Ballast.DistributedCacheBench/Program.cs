// The IDistributedCache get/set path side by side: Ballast's BallastDistributedCache on a local memcached against
// Microsoft.Extensions.Caching.StackExchangeRedis on a local redis-server, in the same run. Both servers are started
// here on free loopback ports and killed at the end. The two run in alternating slices (B, R, B, R, ...) so that a
// slowdown of the shared machine weighs on both alike; every loop is bounded in time.
//
//   dotnet run -c Release --project bench/Ballast.DistributedCacheBench -- [--concurrency 32] [--slices 3] [--slice-seconds 2] [--value-size 512]
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Ballast;
using Ballast.Extensions;
using Ballast.FaultInjection;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.StackExchangeRedis;

var concurrency = Arg("--concurrency", 32);
var slices = Arg("--slices", 3);
var sliceSeconds = Arg("--slice-seconds", 2);
var valueSize = Arg("--value-size", 512);
const int Keys = 1000;

await using var memcached = await MemcachedProcess.StartAsync(new MemcachedProcessOptions { Threads = 2 });
var redisPort = FreePort();
using var redis = Process.Start(new ProcessStartInfo("redis-server", ["--port", redisPort.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes"])
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
    var caches = new (string Name, IDistributedCache Cache)[] { ("Ballast (memcached)", ballast), ("Redis (StackExchangeRedis)", redisCache) };
    var value = new byte[valueSize];
    Random.Shared.NextBytes(value);
    var entry = new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromMinutes(10) };

    Console.WriteLine($"IDistributedCache, {concurrency} concurrent callers, {Keys} keys of {valueSize} bytes, {slices} x {sliceSeconds} s per side and phase, interleaved");
    foreach (var (phase, operation) in new (string, Func<IDistributedCache, int, Task>)[]
    {
        ("get (hit)", async (cache, i) => { _ = await cache.GetAsync(Key(i)) ?? throw new InvalidOperationException("miss"); }),
        ("set", (cache, i) => cache.SetAsync(Key(i), value, entry)),
    })
    {
        foreach (var (_, cache) in caches)
        {
            for (var i = 0; i < Keys; i++)
            {
                await cache.SetAsync(Key(i), value, entry);
            }

            await RunAsync(cache, operation, TimeSpan.FromSeconds(0.5)); // warm-up
        }

        var totals = new double[caches.Length];
        var latencies = new List<double>[caches.Length];
        for (var s = 0; s < slices; s++)
        {
            for (var c = 0; c < caches.Length; c++)
            {
                var (ops, micros) = await RunAsync(caches[c].Cache, operation, TimeSpan.FromSeconds(sliceSeconds));
                totals[c] += ops;
                (latencies[c] ??= []).AddRange(micros);
            }
        }

        var elapsed = slices * sliceSeconds;
        Console.WriteLine($"\n{phase}");
        for (var c = 0; c < caches.Length; c++)
        {
            latencies[c].Sort();
            var p50 = latencies[c][latencies[c].Count / 2];
            var p99 = latencies[c][(int)(latencies[c].Count * 0.99)];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {caches[c].Name,-28} {totals[c] / elapsed,10:N0} ops/s   p50 {p50,7:N0} us   p99 {p99,7:N0} us"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  ratio Ballast / Redis: {totals[0] / totals[1]:0.00}x"));
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

static string Key(int i) => "bench:" + (i % Keys).ToString(CultureInfo.InvariantCulture);

async Task<(long Ops, List<double> MicrosSampled)> RunAsync(IDistributedCache cache, Func<IDistributedCache, int, Task> operation, TimeSpan duration)
{
    long ops = 0;
    var samples = new List<double>();
    var deadline = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
    var workers = Enumerable.Range(0, concurrency).Select(w => Task.Run(async () =>
    {
        var local = new List<double>();
        var i = w * 7919;
        long n = 0;
        while (Stopwatch.GetTimestamp() < deadline)
        {
            var start = Stopwatch.GetTimestamp();
            await operation(cache, i++);
            if ((n++ & 15) == 0)
            {
                local.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            }
        }

        Interlocked.Add(ref ops, n);
        lock (samples)
        {
            samples.AddRange(local);
        }
    })).ToArray();
    await Task.WhenAll(workers);
    return (ops, samples);
}

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
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
