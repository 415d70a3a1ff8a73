using Ballast.Tests.Diagnostics;
using Ballast.Tests.Integrity;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Ballast.Tests.Extensions;

/// <summary>
/// HybridCache over Ballast when a memcached server fails (HybridCache's UnreliableL2Tests, on a real pool): a read
/// of a failed server is a miss (HybridCache runs the factory and logs no error: that is Ballast's promise), and a
/// write that did not land throws from <c>IDistributedCache.SetAsync</c>, so HybridCache logs it as an L2 write
/// failure (issue 16, point 3: it used to return normally, and nothing showed the value was never stored).
/// </summary>
[Collection(WallClockBoundCollection.Name)]
public sealed class HybridCacheUnreliableL2Tests
{
    private static readonly HybridCacheEntryOptions NoL2Write = new() { Flags = HybridCacheEntryFlags.DisableDistributedCacheWrite };

    [Fact]
    public async Task A_write_to_a_down_server_throws_and_HybridCache_logs_the_L2_write_failure_naming_key_and_server()
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, serverCount: 3, frontendCount: 1);
        var logs = new CapturingLoggerProvider();
        await using var provider = Services(harness.Frontends[0], logs);
        var hybrid = provider.GetRequiredService<HybridCache>();
        var healthy = harness.KeyOn(0, "healthy");
        var failed = harness.KeyOn(1, "failed");

        // Control: a key of a healthy server is written to L2 and nothing is logged.
        var x = await hybrid.GetOrCreateAsync(healthy, NewGuid);
        Assert.Equal(x, await hybrid.GetOrCreateAsync(healthy, NewGuid));
        Assert.True(await IntegrityHarness.WaitUntilAsync(async () => await provider.GetRequiredService<IDistributedCache>().GetAsync(healthy) is not null, TimeSpan.FromSeconds(5)));
        Assert.DoesNotContain(logs.Events, e => e.Id.Name == "CacheBackendWriteFailure");

        // Server 1 is cut off from this frontend until the frontend holds it down (and fenced).
        await CutUntilDownAsync(harness, failed);

        var y = await hybrid.GetOrCreateAsync(failed, NewGuid);
        Assert.Equal(y, await hybrid.GetOrCreateAsync(failed, NewGuid));
        Assert.True(await IntegrityHarness.WaitUntilAsync(() => logs.Events.Any(e => e.Id.Name == "CacheBackendWriteFailure"), TimeSpan.FromSeconds(5)), "HybridCache logged no L2 write failure");
        var failure = logs.Events.First(e => e.Id.Name == "CacheBackendWriteFailure");
        Assert.Equal(LogLevel.Error, failure.Level);
        var error = Assert.IsType<ServerUnavailableException>(failure.Error);
        Assert.Contains($"'{failed}'", error.Message, StringComparison.Ordinal);
        Assert.Contains(harness.EndPoint(1).ToString(), error.Message, StringComparison.Ordinal);
        Assert.Equal(harness.EndPoint(1), error.Server);

        // The same write through IDistributedCache directly throws, as HybridCache saw it.
        var direct = await Assert.ThrowsAsync<ServerUnavailableException>(() => provider.GetRequiredService<IDistributedCache>().SetAsync(failed, [1]));
        Assert.Contains("was not stored", direct.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_read_of_a_down_server_is_a_miss_so_HybridCache_runs_the_factory_and_logs_no_read_failure()
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, serverCount: 3, frontendCount: 1);
        var logs = new CapturingLoggerProvider();
        await using var provider = Services(harness.Frontends[0], logs);
        var hybrid = provider.GetRequiredService<HybridCache>();
        var l1 = Assert.IsType<MemoryCache>(provider.GetRequiredService<IMemoryCache>());
        var key = harness.KeyOn(1, "read");

        var x = await hybrid.GetOrCreateAsync(key, NewGuid);
        Assert.True(await IntegrityHarness.WaitUntilAsync(async () => await provider.GetRequiredService<IDistributedCache>().GetAsync(key) is not null, TimeSpan.FromSeconds(5)));

        // From L2 after L1 is cleared: the factory does not run.
        l1.Clear();
        Assert.Equal(x, await hybrid.GetOrCreateAsync(key, NewGuid));

        await CutUntilDownAsync(harness, key);

        // L1 still serves; with L1 cleared, the read of the failed server is a miss and the factory runs again.
        Assert.Equal(x, await hybrid.GetOrCreateAsync(key, NewGuid));
        l1.Clear();
        var again = await hybrid.GetOrCreateAsync(key, NewGuid, NoL2Write);
        Assert.NotEqual(x, again);
        Assert.Equal(again, await hybrid.GetOrCreateAsync(key, NewGuid));
        Assert.DoesNotContain(logs.Events, e => e.Id.Name is "CacheBackendReadFailure" or "CacheBackendWriteFailure");
    }

    /// <summary>Cuts frontend 0 off from server 1 and reads <paramref name="key"/> (of server 1) until the frontend holds the server down.</summary>
    private static async Task CutUntilDownAsync(IntegrityHarness harness, string key)
    {
        harness.Cut(0, 1);
        Assert.True(await IntegrityHarness.WaitUntilAsync(
            async () =>
            {
                await harness.Frontends[0].GetAsync(key);
                return harness.Frontends[0].GetServerState(harness.EndPoint(1)) != ServerState.Up;
            },
            TimeSpan.FromSeconds(10)));
    }

    private static ServiceProvider Services(MemcachedClient client, CapturingLoggerProvider logs)
    {
        var services = new ServiceCollection();
        services.AddLogging(builder => builder.ClearProviders().AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        services.AddSingleton<IMemcachedClient>(client);
        services.AddBallastDistributedCache();
        services.AddHybridCache();
        return services.BuildServiceProvider();
    }

    private static ValueTask<Guid> NewGuid(CancellationToken cancellationToken) => ValueTask.FromResult(Guid.NewGuid());
}
