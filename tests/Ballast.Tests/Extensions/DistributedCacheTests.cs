using System.Buffers;
using System.Text;
using Ballast.Extensions;
using Ballast.Tests.Support;
using Microsoft.Extensions.Caching.Distributed;

namespace Ballast.Tests.Extensions;

/// <summary>BallastDistributedCache against real memcached: expiration, removal, the buffer path, and two application instances.</summary>
[Collection(ApplicationCollection.Name)]
public sealed class DistributedCacheTests : IAsyncLifetime
{
    private MemcachedServers _servers = null!;
    private MemcachedClient _clientA = null!;
    private MemcachedClient _clientB = null!;
    private BallastDistributedCache _a = null!;
    private BallastDistributedCache _b = null!;

    public async Task InitializeAsync()
    {
        _servers = await MemcachedServers.StartAsync(1);
        _clientA = new MemcachedClient(_servers.Options(Relaxed));
        _clientB = new MemcachedClient(_servers.Options(Relaxed));
        _a = new BallastDistributedCache(_clientA, new BallastDistributedCacheOptions { KeyPrefix = "app:" });
        _b = new BallastDistributedCache(_clientB, new BallastDistributedCacheOptions { KeyPrefix = "app:" });
    }

    // Not a test of fencing: a shared-view bound that a loaded test machine cannot outlast (once the view's lease
    // lapses every read is a miss, by design).
    internal static void Relaxed(MemcachedClientOptions options) => options.SharedView.Bound = TimeSpan.FromSeconds(10);

    public async Task DisposeAsync()
    {
        await _clientA.DisposeAsync();
        await _clientB.DisposeAsync();
        await _servers.DisposeAsync();
    }

    [Fact]
    public async Task Sliding_expiration_keeps_an_entry_read_every_second_and_drops_it_after_the_window()
    {
        using var operations = new OperationCounter(_servers.EndPoints);
        await _a.SetStringAsync("sliding", "kept alive", new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromSeconds(3) });

        // Six seconds of reads, one a second, alternating between the instance that wrote the entry and one that did
        // not: twice the window, so only renewal keeps it.
        for (var i = 0; i < 6; i++)
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            var cache = i % 2 == 0 ? _a : _b;
            Assert.Equal("kept alive", await cache.GetStringAsync("sliding"));
        }

        // Every read renewed in its own request (get_and_touch); only instance B's first read needed a second one.
        Assert.Equal(6, operations["get_and_touch"] + operations["get"]);
        Assert.Equal(1, operations["get"]);
        Assert.Equal(1, operations["touch"]);

        await Task.Delay(TimeSpan.FromSeconds(4.5));
        Assert.Null(await _b.GetStringAsync("sliding"));
        Assert.Null(await _a.GetStringAsync("sliding"));
    }

    [Fact]
    public async Task Control_without_reads_a_sliding_entry_expires_within_the_window()
    {
        await _a.SetStringAsync("sliding-unread", "x", new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromSeconds(2) });
        await Task.Delay(TimeSpan.FromSeconds(3.5));
        Assert.Null(await _a.GetStringAsync("sliding-unread"));
    }

    [Fact]
    public async Task Sliding_renewal_never_passes_the_absolute_deadline()
    {
        await _a.SetStringAsync("capped", "x", new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromSeconds(10), AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(3) });
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal("x", await _b.GetStringAsync("capped"));
        await Task.Delay(TimeSpan.FromSeconds(3.5));
        Assert.Null(await _a.GetStringAsync("capped"));
    }

    [Fact]
    public async Task Absolute_expiration_and_remove()
    {
        await _a.SetStringAsync("absolute", "x", new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(2) });
        Assert.Equal("x", await _b.GetStringAsync("absolute"));
        await Task.Delay(TimeSpan.FromSeconds(3.5));
        Assert.Null(await _b.GetStringAsync("absolute"));

        await _a.SetStringAsync("removed", "x");
        await _b.RemoveAsync("removed");
        Assert.Null(await _a.GetStringAsync("removed"));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _a.SetStringAsync("past", "x", new DistributedCacheEntryOptions { AbsoluteExpiration = DateTimeOffset.UtcNow.AddSeconds(-1) }));
    }

    [Fact]
    public async Task Buffer_reads_write_exactly_the_value_into_the_callers_buffer()
    {
        var value = Enumerable.Range(0, 5000).Select(i => (byte)i).ToArray();
        await _a.SetAsync("buffered", new ReadOnlySequence<byte>(value), new DistributedCacheEntryOptions());
        var destination = new ArrayBufferWriter<byte>();
        destination.Write("prefix"u8);
        Assert.True(await _b.TryGetAsync("buffered", destination));
        Assert.Equal([.. "prefix"u8.ToArray(), .. value], destination.WrittenSpan.ToArray());
        Assert.False(await _b.TryGetAsync("absent", new ArrayBufferWriter<byte>()));
    }

    [Fact]
    public async Task Keys_memcached_cannot_take_are_hashed_and_values_written_by_others_are_misses()
    {
        var odd = "a key with spaces and " + new string('x', 300);
        await _a.SetStringAsync(odd, "hashed");
        Assert.Equal("hashed", await _b.GetStringAsync(odd));

        await _clientA.SetAsync("app:foreign", "not a cache entry");
        Assert.Null(await _a.GetAsync("foreign"));
        Assert.False(await _a.TryGetAsync("foreign", new ArrayBufferWriter<byte>()));
        Assert.Equal("not a cache entry", Encoding.UTF8.GetString((await _clientA.GetAsync("app:foreign")).Value!));
    }
}
