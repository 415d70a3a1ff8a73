using System.Text.Json.Serialization;
using Ballast.Tests.Extensions;
using Ballast.Tests.Support;

namespace Ballast.Tests.Client;

/// <summary>GetOrCreateAsync against real memcached: stampede protection within and across clients.</summary>
[Collection(Extensions.ApplicationCollection.Name)]
public sealed partial class GetOrCreateTests : IAsyncLifetime
{
    private MemcachedServers _servers = null!;
    private MemcachedClient _a = null!;
    private MemcachedClient _b = null!;

    public async Task InitializeAsync()
    {
        _servers = await MemcachedServers.StartAsync(2);
        _a = new MemcachedClient(_servers.Options(DistributedCacheTests.Relaxed));
        _b = new MemcachedClient(_servers.Options(DistributedCacheTests.Relaxed));
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        await _servers.DisposeAsync();
    }

    public sealed record Row(int Id, string Name);

    [JsonSerializable(typeof(Row))]
    internal sealed partial class RowContext : JsonSerializerContext;

    [Fact]
    public async Task Hundred_cold_callers_on_two_clients_run_the_factory_at_most_twice()
    {
        var calls = 0;
        async ValueTask<Row> ReadDatabase(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref calls);
            await Task.Delay(100, cancellationToken);
            return new Row(1, "from the database");
        }

        using var start = new ManualResetEventSlim();
        var callers = Enumerable.Range(0, 100).Select(i => Task.Run(async () =>
        {
            start.Wait();
            var client = i % 2 == 0 ? _a : _b;
            return await client.GetOrCreateAsync("row:1", ReadDatabase, RowContext.Default.Row, TimeSpan.FromMinutes(1));
        })).ToArray();
        start.Set();
        var rows = await Task.WhenAll(callers);

        Assert.InRange(calls, 1, 2);
        Assert.All(rows, r => Assert.Equal(new Row(1, "from the database"), r));
        Assert.True((await _a.GetAsync("row:1")).IsHit);
    }

    [Fact]
    public async Task Control_plain_cache_aside_from_the_same_hundred_callers_runs_the_factory_many_times()
    {
        var calls = 0;
        using var start = new ManualResetEventSlim();
        var callers = Enumerable.Range(0, 100).Select(i => Task.Run(async () =>
        {
            start.Wait();
            var client = i % 2 == 0 ? _a : _b;
            var cached = await client.GetStringAsync("row:plain");
            if (cached is null)
            {
                Interlocked.Increment(ref calls);
                await Task.Delay(100);
                await client.SetAsync("row:plain", "from the database");
            }
        })).ToArray();
        start.Set();
        await Task.WhenAll(callers);

        Assert.True(calls > 2, $"{calls} factory calls");
    }

    [Fact]
    public async Task A_caller_on_another_client_waits_for_the_lease_holders_value()
    {
        var release = new TaskCompletionSource();
        var calls = 0;
        var holder = _a.GetOrCreateAsync("row:slow", async ct =>
        {
            Interlocked.Increment(ref calls);
            await release.Task.WaitAsync(ct);
            return new Row(2, "slow");
        }, RowContext.Default.Row).AsTask();
        await Task.Delay(200);
        var waiter = _b.GetOrCreateAsync("row:slow", _ =>
        {
            Interlocked.Increment(ref calls);
            return ValueTask.FromResult(new Row(2, "not this one"));
        }, RowContext.Default.Row).AsTask();
        await Task.Delay(300);
        Assert.False(waiter.IsCompleted);
        release.SetResult();

        Assert.Equal(new Row(2, "slow"), await waiter);
        Assert.Equal(new Row(2, "slow"), await holder);
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task A_hit_skips_the_factory_and_a_factory_failure_reaches_every_caller_and_stores_nothing()
    {
        await _a.GetOrCreateAsync("row:3", _ => ValueTask.FromResult(new Row(3, "first")), RowContext.Default.Row);
        Assert.Equal(new Row(3, "first"), await _b.GetOrCreateAsync<Row>("row:3", _ => throw new InvalidOperationException("not called"), RowContext.Default.Row));

        var failures = Enumerable.Range(0, 10).Select(_ => _a.GetOrCreateAsync<Row>("row:4", async ct =>
        {
            await Task.Delay(50, ct);
            throw new TimeoutException("database down");
        }, RowContext.Default.Row).AsTask()).ToArray();
        foreach (var failure in failures)
        {
            await Assert.ThrowsAsync<TimeoutException>(() => failure);
        }

        Assert.False((await _a.GetAsync("row:4")).IsHit);
    }

    /// <summary>
    /// The caller holding the refill lease leaves (an aborted request) or its factory fails: the lease is given back,
    /// so a caller on another client creates and stores the value at once. Kept, the placeholder would make that
    /// caller wait out <see cref="GetOrCreateOptions.LeaseWait"/>, create without storing, and every read miss until
    /// the placeholder expired.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_lease_holder_that_is_cancelled_or_fails_gives_the_lease_back(bool cancelled)
    {
        var key = cancelled ? "row:cancelled" : "row:failed";
        using var abort = new CancellationTokenSource();
        var holder = _a.GetOrCreateAsync<Row>(key, async ct =>
        {
            await Task.Delay(100, ct);
            if (!cancelled)
            {
                throw new TimeoutException("database down");
            }

            await Task.Delay(Timeout.Infinite, ct);
            return new Row(5, "never");
        }, RowContext.Default.Row, cancellationToken: abort.Token).AsTask();
        if (cancelled)
        {
            abort.CancelAfter(150);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => holder);
        }
        else
        {
            await Assert.ThrowsAsync<TimeoutException>(() => holder);
        }

        var calls = 0;
        var row = await _b.GetOrCreateAsync(key, _ =>
        {
            Interlocked.Increment(ref calls);
            return ValueTask.FromResult(new Row(5, "created by the next caller"));
        }, RowContext.Default.Row);

        Assert.Equal(new Row(5, "created by the next caller"), row);
        Assert.Equal(1, calls);
        Assert.Equal("{\"Id\":5,\"Name\":\"created by the next caller\"}", (await _a.GetAsync(key)).AsString());
    }

    [Fact]
    public async Task A_delete_while_the_factory_runs_voids_the_store_but_the_caller_gets_its_value()
    {
        var value = await _a.GetOrCreateAsync("row:5", async ct =>
        {
            await _b.DeleteAsync("row:5", ct);
            return new Row(5, "read before the write");
        }, RowContext.Default.Row);

        Assert.Equal(new Row(5, "read before the write"), value);
        Assert.False((await _a.GetAsync("row:5")).IsHit);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_value_marked_stale_is_served_while_one_caller_refreshes_it_only_where_allowed(bool serveStale)
    {
        await using var refresher = new MemcachedClient(_servers.Options(o => { DistributedCacheTests.Relaxed(o); o.GetOrCreate.ServeStaleWhileRefreshing = serveStale; }));
        await using var reader = new MemcachedClient(_servers.Options(o => { DistributedCacheTests.Relaxed(o); o.GetOrCreate.ServeStaleWhileRefreshing = serveStale; }));
        var key = $"row:stale:{serveStale}";

        // Not a test of a cold start: a client whose first view read outlasts its first call's wait (a loaded machine)
        // creates without storing, by design, and the value to mark stale would not be there (a CI run saw it).
        Assert.True(await Integrity.IntegrityHarness.WaitUntilAsync(() => refresher.IsSharedViewFresh && reader.IsSharedViewFresh, TimeSpan.FromSeconds(10)));
        await refresher.GetOrCreateAsync(key, _ => ValueTask.FromResult(new Row(7, "old")), RowContext.Default.Row);
        Assert.True(await refresher.MarkStaleAsync(key, TimeSpan.FromMinutes(1)));

        var release = new TaskCompletionSource();
        var refreshed = refresher.GetOrCreateAsync(key, async ct =>
        {
            await release.Task.WaitAsync(ct);
            return new Row(7, "new");
        }, RowContext.Default.Row).AsTask();
        await Task.Delay(300);
        var during = reader.GetOrCreateAsync<Row>(key, _ => throw new InvalidOperationException("the refresher holds the lease"), RowContext.Default.Row).AsTask();
        var first = await Task.WhenAny(during, Task.Delay(1000));
        Assert.False(refreshed.IsCompleted);
        if (serveStale)
        {
            Assert.Same(during, first);
            Assert.Equal(new Row(7, "old"), await during);
        }
        else
        {
            // Control: without the option the reader waits for the refresh.
            Assert.NotSame(during, first);
        }

        release.SetResult();
        Assert.Equal(new Row(7, "new"), await refreshed);
        if (!serveStale)
        {
            Assert.Equal(new Row(7, "new"), await during);
        }

        Assert.Equal(new Row(7, "new"), await reader.GetOrCreateAsync<Row>(key, _ => throw new InvalidOperationException("stored"), RowContext.Default.Row));
    }

    [Fact]
    public async Task The_reflection_overload_serializes_with_the_clients_json_options()
    {
#pragma warning disable IL2026, IL3050 // the test runs with the JIT
        var row = await _a.GetOrCreateAsync("row:6", _ => ValueTask.FromResult(new Row(6, "reflected")));
#pragma warning restore IL2026, IL3050
        Assert.Equal(new Row(6, "reflected"), row);
        Assert.Contains("\"Name\":\"reflected\"", (await _b.GetStringAsync("row:6"))!, StringComparison.Ordinal);
    }
}
