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
        await _a.SetStringAsync("sliding", "kept alive", new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromSeconds(3) });

        // Six seconds of reads, one a second, alternating between the instance that wrote the entry and one that did
        // not: twice the window, so only renewal keeps it.
        for (var i = 0; i < 6; i++)
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            var cache = i % 2 == 0 ? _a : _b;
            Assert.Equal("kept alive", await cache.GetStringAsync("sliding"));
        }

        await Task.Delay(TimeSpan.FromSeconds(4.5));
        Assert.Null(await _b.GetStringAsync("sliding"));
        Assert.Null(await _a.GetStringAsync("sliding"));
    }

    /// <summary>
    /// Each call is one request, as memcached counts them (its own log of fetches): a sliding read renews in its own
    /// request, from the instance that wrote the entry and from one that never saw it (its first read of each entry
    /// included, once it has met one entry of that window), into a byte array or a buffer writer; a refresh is one
    /// request that brings back no value. Before issue 20 another instance's first read of each sliding entry cost two
    /// requests and a refresh fetched the whole value.
    /// </summary>
    [Fact]
    public async Task Every_sliding_read_and_refresh_is_one_request_from_any_instance_and_a_refresh_returns_no_value()
    {
        var sliding = new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(5) };
        var value = new byte[100_000];
        Random.Shared.NextBytes(value);
        var keys = Enumerable.Range(0, 6).Select(i => "one-request-" + i).ToArray();
        foreach (var key in keys)
        {
            await _a.SetAsync(key, value, sliding);
        }

        await using var watch = await FetchWatch.StartAsync(_servers.EndPoints.First());

        // Instance B has never written nor read a sliding entry: its very first read shows it the window, with one
        // correcting request (documented); every other first read of B is one request.
        Assert.Equal(value, await _b.GetAsync(keys[0]));
        Assert.Equal(2, await watch.RequestsForAsync("app:" + keys[0], expected: 2));
        for (var i = 1; i < keys.Length; i++)
        {
            var viaBuffer = i % 2 == 0;
            var destination = new ArrayBufferWriter<byte>();
            Assert.True(viaBuffer ? await _b.TryGetAsync(keys[i], destination) : (await _b.GetAsync(keys[i]))!.AsSpan().SequenceEqual(value));
            Assert.Equal(1, await watch.RequestsForAsync("app:" + keys[i], expected: 1));
            Assert.Equal(viaBuffer ? value : [], destination.WrittenSpan.ToArray());
            Assert.Equal(value, await _a.GetAsync(keys[i]));
            Assert.Equal(2, await watch.RequestsForAsync("app:" + keys[i], expected: 2));
        }

        // A refresh is one request and fetches no value: memcached sends back less than a hundredth of it.
        var sentBefore = await BytesSentAsync();
        await _b.RefreshAsync(keys[1]);
        await _a.RefreshAsync(keys[2]);
        var sentByRefreshes = await BytesSentAsync() - sentBefore;
        Assert.Equal(3, await watch.RequestsForAsync("app:" + keys[1], expected: 3));
        Assert.Equal(3, await watch.RequestsForAsync("app:" + keys[2], expected: 3));

        // Control: the same measure sees a read's value (the stats answer itself is in both figures).
        sentBefore = await BytesSentAsync();
        await _b.GetAsync(keys[1]);
        var sentByRead = await BytesSentAsync() - sentBefore;
        Assert.True(sentByRead > value.Length, $"a read sent {sentByRead} bytes for a {value.Length}-byte value");
        Assert.True(sentByRefreshes < sentByRead - value.Length + 1000, $"two refreshes sent {sentByRefreshes} bytes; one read sent {sentByRead}");
    }

    private async Task<long> BytesSentAsync()
        => long.Parse((await _clientA.StatsAsync()).Single().Values!["bytes_written"], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// An instance whose sliding guess is wrong for an entry touches it with that window in the read's request; the
    /// response shows the entry's own timing and a second request puts its TTL back to its deadline, so memcached does
    /// not keep it for the guessed window (read straight from the server, past the reads' own deadline check).
    /// </summary>
    [Fact]
    public async Task A_read_whose_guess_was_wrong_sets_the_entrys_own_ttl_back()
    {
        await _a.SetStringAsync("guess-setter", "sliding", new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(10) });
        await _b.SetStringAsync("fixed", "absolute", new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(2) });
        Assert.Equal("absolute", await _a.GetStringAsync("fixed"));
        await Task.Delay(TimeSpan.FromSeconds(4.5));
        Assert.False((await _clientA.GetAsync("app:fixed")).IsHit);

        // Control: the guessed window did land with the read (its TTL was ten minutes until the correction).
        await _b.SetStringAsync("fixed-2", "absolute", new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(2) });
        await _clientA.GetAndTouchAsync("app:fixed-2", TimeSpan.FromMinutes(10));
        await Task.Delay(TimeSpan.FromSeconds(4.5));
        Assert.True((await _clientA.GetAsync("app:fixed-2")).IsHit);
        Assert.Null(await _a.GetStringAsync("fixed-2"));
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
        Assert.Equal("AbsoluteExpiration", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _a.SetStringAsync("past", "x", new DistributedCacheEntryOptions { AbsoluteExpiration = DateTimeOffset.UtcNow.AddSeconds(-1) }))).ParamName);
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

        // Shorter than the trailer, or with this cache's flags but no trailer: misses too, and nothing is written.
        await _clientA.SetAsync("app:short", "x");
        await _clientA.SetAsync("app:short-flagged", "xy"u8.ToArray(), flags: BallastDistributedCache.EntryFlags);
        var untouched = new ArrayBufferWriter<byte>();
        foreach (var key in new[] { "short", "short-flagged" })
        {
            Assert.Null(await _b.GetAsync(key));
            Assert.False(await _b.TryGetAsync(key, untouched));
            await _b.RefreshAsync(key);
        }

        Assert.Equal(0, untouched.WrittenCount);
    }
}
