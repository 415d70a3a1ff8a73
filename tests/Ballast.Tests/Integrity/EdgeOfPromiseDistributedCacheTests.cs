using System.Diagnostics;
using System.Text;
using Ballast.Extensions;
using Microsoft.Extensions.Caching.Distributed;

namespace Ballast.Tests.Integrity;

/// <summary>
/// Issue 16, break 3: <see cref="BallastDistributedCache.SetAsync(string, byte[], DistributedCacheEntryOptions, CancellationToken)"/>
/// returning normally when nothing was stored. Frontend A's links to the two servers that do not hold the key are
/// slow (1.2 s each way) but within the operation timeout (3 s): nothing times out and nothing is fenced, but A's
/// view reads take longer than the bound, so A's lease has lapsed and its stores are refused. A write made then must
/// either throw or leave the old value unreadable: no read that begins more than B after the set returned, on either
/// frontend, may return v1.
/// </summary>
[Collection(WallClockBoundCollection.Name)]
public sealed class EdgeOfPromiseDistributedCacheTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Lag = TimeSpan.FromMilliseconds(1200);

    [Fact]
    public async Task Break3_a_distributed_cache_set_that_stored_nothing_throws_or_leaves_the_old_value_unreadable()
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, configure: o => o.OperationTimeout = TimeSpan.FromSeconds(3));
        var key = harness.KeyOn(0, "edge3");
        var cacheA = new BallastDistributedCache(harness.Frontends[0], new BallastDistributedCacheOptions());
        var cacheB = new BallastDistributedCache(harness.Frontends[1], new BallastDistributedCacheOptions());
        var sliding = new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(5) };
        await cacheA.SetAsync(key, Encoding.ASCII.GetBytes("v1"), sliding);
        Assert.Equal("v1", Text(await cacheB.GetAsync(key)));

        harness.Slow(0, 1, Lag);
        harness.Slow(0, 2, Lag);
        Assert.True(await IntegrityHarness.WaitUntilAsync(() => !harness.Frontends[0].IsSharedViewFresh, TimeSpan.FromSeconds(5)), "frontend A's view stayed fresh over links slower than the bound");
        output.WriteLine($"servers marked down meanwhile (none expected): {harness.Failures.Count}");

        Exception? thrown = null;
        try
        {
            await cacheA.SetAsync(key, Encoding.ASCII.GetBytes("v2"), sliding);
        }
        catch (MemcachedException error)
        {
            thrown = error;
        }

        var sinceSet = Stopwatch.StartNew();
        if (thrown is not null)
        {
            // The other way to keep the promise: the application is told the write did not land ("invalidation owed").
            output.WriteLine($"SetAsync threw {thrown.GetType().Name}: {thrown.Message}");
            Assert.IsType<ServerUnavailableException>(thrown);
            return;
        }

        var (stale, reads, first) = await StaleReadsAfterAsync(sinceSet, [async () => Text(await cacheA.GetAsync(key)), async () => Text(await cacheB.GetAsync(key))]);
        output.WriteLine($"SetAsync(v2) returned normally; beyond B: frontend B read v1 {stale[1]} of {reads[1]} times (first {first[1]?.TotalMilliseconds:0} ms after), frontend A {stale[0]} of {reads[0]} times");
        Assert.True(
            stale[0] + stale[1] == 0,
            $"SetAsync(v2) on frontend A returned normally, but {stale[1]} of {reads[1]} reads on frontend B and {stale[0]} of {reads[0]} on A that began more than {Bound.TotalMilliseconds:0} ms after it returned v1 (first on B {first[1]?.TotalMilliseconds:0} ms after): a write that did not land was neither an invalidation nor an error.");
    }

    /// <summary>
    /// The rule under the adapter, on the core client: a <c>SetAsync</c> refused because the key's server is unreadable
    /// here (the lease lapsed, nothing fenced) returns <see cref="StoreStatus.ServerDown"/> only after the old value
    /// was deleted there (or the server fenced), so neither frontend reads v1 from B after it returned.
    /// </summary>
    [Fact]
    public async Task A_core_set_refused_while_the_lease_lapsed_leaves_the_old_value_unreadable()
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, configure: o => o.OperationTimeout = TimeSpan.FromSeconds(3));
        var key = harness.KeyOn(0, "edge3-core");
        var (a, b) = (harness.Frontends[0], harness.Frontends[1]);
        await a.SetAsync(key, "v1");
        Assert.Equal("v1", await b.GetStringAsync(key));

        harness.Slow(0, 1, Lag);
        harness.Slow(0, 2, Lag);
        Assert.True(await IntegrityHarness.WaitUntilAsync(() => !a.IsSharedViewFresh, TimeSpan.FromSeconds(5)), "frontend A's view stayed fresh over links slower than the bound");

        StoreResult result;
        try
        {
            result = await a.SetAsync(key, "v2");
        }
        catch (InvalidationOwedException owed)
        {
            // Told: the write did not land and its invalidation is owed. Nothing more to check.
            output.WriteLine($"SetAsync threw {owed.GetType().Name}: {owed.Message}");
            return;
        }

        var sinceSet = Stopwatch.StartNew();
        var (stale, reads, first) = await StaleReadsAfterAsync(sinceSet, [() => a.GetStringAsync(key).AsTask(), () => b.GetStringAsync(key).AsTask()]);
        output.WriteLine($"SetAsync(v2): {result.Status}; beyond B: frontend B read v1 {stale[1]} of {reads[1]} times (first {first[1]?.TotalMilliseconds:0} ms after), frontend A {stale[0]} of {reads[0]} times");
        Assert.True(stale[0] + stale[1] == 0, $"SetAsync(v2) returned {result.Status}, and {stale[1]} of {reads[1]} reads on B and {stale[0]} of {reads[0]} on A that began more than B after it returned v1: the refused write was no invalidation.");
    }

    /// <summary>Reads the key on each frontend for 3.5 s; counts the reads begun beyond B that returned v1.</summary>
    private static async Task<(int[] Stale, int[] Reads, TimeSpan?[] First)> StaleReadsAfterAsync(Stopwatch sinceSet, Func<Task<string?>>[] readers)
    {
        var stale = new int[readers.Length];
        var reads = new int[readers.Length];
        var first = new TimeSpan?[readers.Length];
        while (sinceSet.Elapsed < TimeSpan.FromSeconds(3.5))
        {
            for (var f = 0; f < readers.Length; f++)
            {
                var began = sinceSet.Elapsed;
                var value = await readers[f]();
                if (began > Bound)
                {
                    reads[f]++;
                    if (value == "v1")
                    {
                        stale[f]++;
                        first[f] ??= began;
                    }
                }
            }

            await Task.Delay(25);
        }

        return (stale, reads, first);
    }

    private static string? Text(byte[]? value) => value is null ? null : Encoding.ASCII.GetString(value);
}
