using System.Diagnostics;

namespace Ballast.Tests.Integrity;

/// <summary>S6: a link that goes down and up every 200 ms: no stale read, and damping keeps flushes few.</summary>
public sealed class FlappingTests
{
    private readonly ITestOutputHelper _output;

    public FlappingTests(ITestOutputHelper output) => _output = output;

    [Theory]
    [InlineData(FailoverPolicy.Offline)]
    [InlineData(FailoverPolicy.Gutter)]
    public async Task S6_a_flapping_link_causes_no_stale_read_and_a_bounded_number_of_flushes(FailoverPolicy policy)
    {
        await using var harness = await IntegrityHarness.StartAsync(policy, frontendCount: 2);
        var keys = Enumerable.Range(0, 5).Select(i => harness.KeyOn(0, $"s6-{i}")).ToArray();
        var flushesBefore = await harness.FlushCountAsync(0);
        var duration = TimeSpan.FromSeconds(6);
        var flapping = Enumerable.Range(0, 2).Select(f => harness.Proxy(f, 0).FlapAsync(TimeSpan.FromMilliseconds(200), duration, Ballast.FaultInjection.ProxyFaultMode.Blackhole)).ToArray();

        var stale = 0;
        var completedWrites = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            var random = new Random(w);
            while (clock.Elapsed < duration + TimeSpan.FromSeconds(1))
            {
                var key = keys[random.Next(keys.Length)];
                var frontend = random.Next(2);
                if (random.NextDouble() < 0.2)
                {
                    var version = await harness.WriteAsync(frontend, key);
                    completedWrites.AddOrUpdate(key, version, (_, v) => Math.Max(v, version));
                }
                else
                {
                    var floor = completedWrites.GetValueOrDefault(key, 1);
                    var version = await harness.ReadAsync(frontend, key);
                    if (version < floor)
                    {
                        Interlocked.Increment(ref stale);
                    }
                }
            }
        })).ToArray();
        await Task.WhenAll(flapping);
        await Task.WhenAll(workers);

        var flushes = await harness.FlushCountAsync(0) - flushesBefore;
        _output.WriteLine($"{policy}: 30 flaps in {duration.TotalSeconds} s → {flushes} flushes, {stale} stale reads, {harness.Failures.Count} failure events");
        Assert.Equal(0, stale);
        Assert.InRange(flushes, 0, 8);
    }
}
