using System.Numerics;

namespace Ballast.Extensions;

/// <summary>
/// What this instance knows of entries' timing before it reads them, so that a read renews a sliding entry in its own
/// request. It holds a guess, the window of the entry it last wrote or was wrong about, which describes most entries
/// of an application (sessions share one idle timeout; HybridCache entries have none); and, for the entries the guess
/// does not describe (another window, or a sliding window capped by a deadline), a record per key. A read's response
/// always tells the entry's real timing (its flags), so knowledge that is wrong costs one correcting request, never a
/// wrong answer.
/// </summary>
/// <remarks>
/// The records live in a fixed array indexed by the key's hash: no lock, nothing shared by all keys but the guess (one
/// field, written only when it changes), bounded memory, and an allocation only when a record is learned. Two keys
/// with the same slot evict each other, which costs the evicted one its next read's correction.
/// </remarks>
internal sealed class KnownTimings
{
    private readonly KnownEntry?[] _slots;
    private readonly int _mask;
    private uint _guessFlags = BallastDistributedCache.EntryFlags;

    public KnownTimings(int capacity)
    {
        var size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(capacity, 16));
        _slots = new KnownEntry?[size];
        _mask = size - 1;
    }

    /// <summary>The record of <paramref name="key"/>, or null when the guess stands for it.</summary>
    public KnownEntry? Find(string key)
    {
        var entry = Volatile.Read(ref _slots[Slot(key)]);
        return entry is not null && string.Equals(entry.Key, key, StringComparison.Ordinal) ? entry : null;
    }

    /// <summary>What a request for an entry without a record should expect: the guessed window, no deadline.</summary>
    public EntryTiming Guess
    {
        get
        {
            EntryTiming.TryReadWindow(Volatile.Read(ref _guessFlags), out var window);
            return new EntryTiming(window, 0);
        }
    }

    /// <summary>
    /// Records what a write or a read found <paramref name="key"/> to be. A write sets the guess (the application just
    /// said what its entries look like); a read changes it only when it was wrong (<paramref name="guessWasWrong"/>).
    /// </summary>
    public void Learn(string key, string mapped, EntryTiming timing, bool fromWrite, bool guessWasWrong)
    {
        if ((fromWrite || guessWasWrong) && Volatile.Read(ref _guessFlags) != timing.Flags)
        {
            Volatile.Write(ref _guessFlags, timing.Flags);
        }

        ref var slot = ref _slots[Slot(key)];
        var current = Volatile.Read(ref slot);
        var held = current is not null && string.Equals(current.Key, key, StringComparison.Ordinal) ? current : null;

        // A record only where the guess is not enough: another window, or a sliding window a deadline will cap.
        var needed = timing.WindowSeconds != Guess.WindowSeconds || (timing.IsSliding && timing.HasDeadline);
        if (needed)
        {
            if (held is null || held.Timing != timing)
            {
                Volatile.Write(ref slot, new KnownEntry(key, mapped, timing));
            }
        }
        else if (held is not null)
        {
            // Only this key's own record goes; another key's stays (a race with its writer costs one correction).
            Interlocked.CompareExchange(ref slot, null, held);
        }
    }

    /// <summary>Forgets <paramref name="key"/> (it was removed).</summary>
    public void Forget(string key)
    {
        ref var slot = ref _slots[Slot(key)];
        if (Volatile.Read(ref slot) is { } held && string.Equals(held.Key, key, StringComparison.Ordinal))
        {
            Interlocked.CompareExchange(ref slot, null, held);
        }
    }

    /// <summary>The slot of <paramref name="key"/>: it follows the process's randomized string hash, so two keys share one in some processes only.</summary>
    internal int Slot(string key) => key.GetHashCode(StringComparison.Ordinal) & _mask;
}

/// <summary>One key's timing, and its memcached key (so that a known key is not mapped again).</summary>
internal sealed record KnownEntry(string Key, string Mapped, EntryTiming Timing);
