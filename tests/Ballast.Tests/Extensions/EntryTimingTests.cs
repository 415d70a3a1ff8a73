using Ballast.Extensions;
using Microsoft.Extensions.Caching.Distributed;

namespace Ballast.Tests.Extensions;

/// <summary>The distributed cache's expiration arithmetic and what an instance knows of entries, without a server.</summary>
public sealed class EntryTimingTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 12, 0, 0, 250, TimeSpan.Zero);

    [Fact]
    public void A_window_is_rounded_up_to_whole_seconds_and_renewed_with_one_second_more_than_it()
    {
        var subSecond = EntryTiming.For("k", new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromSeconds(0.25) }, Now);
        Assert.Equal(1u, subSecond.WindowSeconds);

        // memcached's clock ticks once a second: a TTL of N lapses N-1 to N seconds later, so N+1 keeps N.
        Assert.Equal(TimeSpan.FromSeconds(2), subSecond.TimeToLive(Now));
        Assert.Equal(TimeSpan.FromSeconds(11), EntryTiming.For("k", new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromSeconds(10) }, Now).TimeToLive(Now));
        Assert.Equal(EntryTiming.MaxWindowSeconds, EntryTiming.For("k", new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromDays(400) }, Now).WindowSeconds);
    }

    [Fact]
    public void A_deadline_is_kept_to_the_millisecond_and_caps_the_renewal()
    {
        var timing = EntryTiming.For("k", new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromMilliseconds(2500), SlidingExpiration = TimeSpan.FromSeconds(10) }, Now);
        Assert.Equal(Now.AddMilliseconds(2500).ToUnixTimeMilliseconds(), timing.DeadlineUnixMilliseconds);
        Assert.Equal(TimeSpan.FromSeconds(4), timing.TimeToLive(Now));
        Assert.False(timing.HasExpired(Now.AddMilliseconds(2499)));
        Assert.True(timing.HasExpired(Now.AddMilliseconds(2500)));

        // Just past the deadline memcached is still given a TTL (0 would mean "never").
        Assert.Equal(TimeSpan.FromSeconds(1), timing.TimeToLive(Now.AddSeconds(5)));
        Assert.Equal(TimeSpan.Zero, EntryTiming.Forever.TimeToLive(Now));
    }

    [Fact]
    public void A_past_deadline_throws_naming_AbsoluteExpiration()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => EntryTiming.For("k", new DistributedCacheEntryOptions { AbsoluteExpiration = Now }, Now));
        Assert.Equal(nameof(DistributedCacheEntryOptions.AbsoluteExpiration), error.ParamName);
        Assert.Contains("'k'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_window_travels_in_the_flags_and_other_flags_are_foreign()
    {
        var timing = new EntryTiming(1200, 0);
        Assert.True(EntryTiming.TryReadWindow(timing.Flags, out var window));
        Assert.Equal(1200u, window);
        Assert.True(EntryTiming.TryReadWindow(BallastDistributedCache.EntryFlags, out var none));
        Assert.Equal(0u, none);
        Assert.False(EntryTiming.TryReadWindow(0, out _));
        Assert.False(EntryTiming.TryReadWindow(0xBA11A570, out _));
    }

    [Fact]
    public void Renewing_like_compares_windows_and_near_a_deadline_the_cap()
    {
        var guess = new EntryTiming(10, 0);
        Assert.True(new EntryTiming(10, Now.AddMinutes(5).ToUnixTimeMilliseconds()).RenewsLike(guess, Now));
        Assert.False(new EntryTiming(10, Now.AddSeconds(3).ToUnixTimeMilliseconds()).RenewsLike(guess, Now));
        Assert.False(new EntryTiming(20, 0).RenewsLike(guess, Now));
        Assert.False(EntryTiming.Forever.RenewsLike(guess, Now));
        Assert.True(new EntryTiming(0, Now.AddMinutes(5).ToUnixTimeMilliseconds()).RenewsLike(EntryTiming.Forever, Now));
    }

    [Fact]
    public void Known_timings_keep_a_record_only_where_the_guess_is_not_enough()
    {
        var known = new KnownTimings(16);
        Assert.Equal(EntryTiming.Forever, known.Guess);

        // A write sets the guess; an entry the guess describes needs no record.
        known.Learn("a", "p:a", new EntryTiming(600, 0), fromWrite: true, guessWasWrong: false);
        Assert.Equal(600u, known.Guess.WindowSeconds);
        Assert.Null(known.Find("a"));

        // Another window, or a window a deadline will cap, is recorded (with the memcached key), and found by its key only.
        // Slots follow the process's randomized string hash: the second key is one that does not share "b"'s slot in
        // this process (with a fixed "c" the two evicted each other in one run of sixteen).
        var c = Enumerable.Range(0, 64).Select(i => $"c{i}").First(k => known.Slot(k) != known.Slot("b"));
        known.Learn("b", "p:b", new EntryTiming(30, 0), fromWrite: false, guessWasWrong: false);
        known.Learn(c, $"p:{c}", new EntryTiming(600, 123), fromWrite: false, guessWasWrong: false);
        Assert.Equal(new KnownEntry("b", "p:b", new EntryTiming(30, 0)), known.Find("b"));
        Assert.Equal(123, known.Find(c)!.Timing.DeadlineUnixMilliseconds);
        Assert.Equal(600u, known.Guess.WindowSeconds);
        Assert.Null(known.Find("p:b"));

        // A read that proves the guess wrong moves it; a record the guess now covers goes; a removal forgets.
        known.Learn("b", "p:b", new EntryTiming(30, 0), fromWrite: false, guessWasWrong: true);
        Assert.Equal(30u, known.Guess.WindowSeconds);
        Assert.Null(known.Find("b"));
        known.Forget(c);
        Assert.Null(known.Find(c));
    }
}
