using System.Diagnostics;

namespace Ballast.Tests.Integrity;

/// <summary>
/// S6: a link that goes down and up every 200 ms: no stale read beyond the bound (each frontend's link flaps on its
/// own timer, so brief partial partitions occur, where reads within the bound are the documented window), and
/// damping keeps flushes few.
/// </summary>
[Collection(WallClockBoundCollection.Name)]
public sealed class FlappingTests
{
    private readonly ITestOutputHelper _output;

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(1);

    public FlappingTests(ITestOutputHelper output) => _output = output;

    [Theory]
    [InlineData(FailoverPolicy.Offline)]
    [InlineData(FailoverPolicy.Gutter)]
    [InlineData(FailoverPolicy.Replicated)]
    public async Task S6_a_flapping_link_causes_no_stale_read_and_a_bounded_number_of_flushes(FailoverPolicy policy)
    {
        await using var harness = await IntegrityHarness.StartAsync(policy, frontendCount: 2);
        var keys = Enumerable.Range(0, 5).Select(i => harness.KeyOn(0, $"s6-{i}")).ToArray();
        var flushesBefore = await harness.FlushCountAsync(0);
        var duration = TimeSpan.FromSeconds(6);
        var flapping = Enumerable.Range(0, 2).Select(f => harness.Proxy(f, 0).FlapAsync(TimeSpan.FromMilliseconds(200), duration, Ballast.FaultInjection.ProxyFaultMode.Blackhole)).ToArray();

        var stale = 0;
        var staleBeyond = 0;
        var maxStaleness = TimeSpan.Zero;
        var completedWrites = new System.Collections.Concurrent.ConcurrentDictionary<string, (int Version, TimeSpan CompletedAt)>();
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
                    var completedAt = clock.Elapsed;
                    completedWrites.AddOrUpdate(key, (version, completedAt), (_, v) => v.Version >= version ? v : (version, completedAt));
                }
                else
                {
                    var began = clock.Elapsed;
                    var floor = completedWrites.GetValueOrDefault(key, (Version: 1, CompletedAt: TimeSpan.Zero));
                    var version = await harness.ReadAsync(frontend, key);
                    if (version < floor.Version)
                    {
                        // Stale: the read began after a newer write had completed. Within the bound B this is the
                        // shared view's propagation window (the two links flap on separate timers, so for moments
                        // one frontend reaches the server while the other does not); beyond it, a bug.
                        Interlocked.Increment(ref stale);
                        var staleness = began - floor.CompletedAt;
                        lock (completedWrites)
                        {
                            maxStaleness = staleness > maxStaleness ? staleness : maxStaleness;
                        }

                        if (staleness > Bound)
                        {
                            Interlocked.Increment(ref staleBeyond);
                        }
                    }
                }
            }
        })).ToArray();
        await Task.WhenAll(flapping);
        await Task.WhenAll(workers);

        var flushes = await harness.FlushCountAsync(0) - flushesBefore;
        _output.WriteLine($"{policy}: 30 flaps in {duration.TotalSeconds} s → {flushes} flushes, {stale} stale reads ({staleBeyond} beyond B, longest {maxStaleness.TotalMilliseconds:0} ms), {harness.Failures.Count} failure events, {harness.WriteErrors.Count} write errors");
        foreach (var error in harness.WriteErrors.Distinct().Take(5))
        {
            _output.WriteLine("  write error: " + error);
        }
        Assert.Equal(0, staleBeyond);
        Assert.InRange(flushes, 0, 8);
    }
}
