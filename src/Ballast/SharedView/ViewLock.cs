using System.Globalization;
using System.Text;
using Ballast.Diagnostics;
using Ballast.Pool;
using Ballast.Protocol;
using Ballast.Protocol.Commands;

namespace Ballast.SharedView;

/// <summary>
/// The seed's lock, kept in memcached: <c>add</c> of a key whose value names its owner and when it expires
/// (<c>owner expiresAtUnixMs</c>), stored with that time to live. It is recognised by its owner (an <c>add</c> whose
/// answer was lost may still have been applied, so "not stored" is checked against the owner before it counts as
/// someone else's lock) and by its expiry: a lock that is not one of these (another program's key, an older client's,
/// one stored with no time to live) is rewritten to expire one time to live from now, and a lock past its stated
/// expiry is deleted. No lock can block failback for longer than its time to live. With the pool's secret, values are
/// sealed (<see cref="ViewRecordSeal"/>): one whose MAC fails is such a foreign lock, never taken for this owner's.
/// </summary>
internal static class ViewLock
{
    /// <summary>The longest lock value: an owner id (8 hex digits, or "foreign"), a space, a Unix time in ms.</summary>
    private const int MaxValueLength = 64;

    /// <summary>The value this owner's lock carries, sealed for <paramref name="key"/>.</summary>
    public static byte[] Value(CacheKey key, ViewRecordSeal seal, string owner, TimeSpan timeToLive, TimeProvider time)
        => seal.Seal(key.Text, Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{owner} {(time.GetUtcNow() + timeToLive).ToUnixTimeMilliseconds()}")));

    /// <summary>The lock's time to live as memcached takes it: whole seconds, at least one.</summary>
    public static long Seconds(TimeSpan timeToLive) => Math.Max(1, (long)Math.Ceiling(timeToLive.TotalSeconds));

    /// <summary>
    /// Tries to take the lock on <paramref name="node"/>. True: this owner holds it. False: another owner holds it.
    /// Null: the server did not answer.
    /// </summary>
    public static async Task<bool?> TryTakeAsync(ServerNode node, CacheKey key, ViewRecordSeal seal, string owner, TimeSpan timeToLive, TimeProvider time, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                var taken = await node.ExecuteAsync(new StoreCommand(key, Value(key, seal, owner, timeToLive, time), StoreMode.Add, Seconds(timeToLive), 0, 0), cancellationToken, evenIfDown: true).ConfigureAwait(false);
                if (taken.IsStored)
                {
                    return true;
                }

                var holder = await node.ExecuteAsync(new GetCommand(key), cancellationToken, evenIfDown: true).ConfigureAwait(false);
                if (holder.Value is not { } value)
                {
                    continue; // It expired in between: add again.
                }

                if (!TryParse(key, seal, value, out var holderOwner, out var expiresAtUnixMs))
                {
                    // Not a lock this protocol wrote (or forged: its seal fails), and perhaps stored with no time to live: bound its life.
                    var bounded = new StoreCommand(key, Value(key, seal, "foreign", timeToLive, time), StoreMode.Set, Seconds(timeToLive), 0, holder.Cas);
                    await node.ExecuteAsync(bounded, cancellationToken, evenIfDown: true).ConfigureAwait(false);
                    return false;
                }

                if (holderOwner == owner)
                {
                    return true;
                }

                if (expiresAtUnixMs < time.GetUtcNow().ToUnixTimeMilliseconds())
                {
                    // Past its stated expiry yet still there: its time to live was not what its value says. Break it.
                    await node.ExecuteAsync(new DeleteCommand(key, holder.Cas), cancellationToken, evenIfDown: true).ConfigureAwait(false);
                    continue;
                }

                return false;
            }
            catch (MemcachedException error)
            {
                // Try again on a fresh connection.
                node.Errors.Absorbed(AbsorbedError.LockUnanswered, null, error);
            }
        }

        return null;
    }

    /// <summary>
    /// Writes this owner's lock back on <paramref name="node"/> after a flush emptied it (best effort: the lock's other
    /// copies still stand where the flush did not reach). An <c>add</c>, never a <c>set</c>: another owner may have
    /// taken the emptied copy between the flush and this write, and overwriting it would leave two owners each sure
    /// it holds the lock (the simulator found two recoveries flushing one server that way, seed offline 2009330).
    /// </summary>
    public static async Task RenewAsync(ServerNode node, CacheKey key, ViewRecordSeal seal, string owner, TimeSpan timeToLive, TimeProvider time, CancellationToken cancellationToken)
    {
        try
        {
            await node.ExecuteAsync(new StoreCommand(key, Value(key, seal, owner, timeToLive, time), StoreMode.Add, Seconds(timeToLive), 0, 0), cancellationToken, evenIfDown: true).ConfigureAwait(false);
        }
        catch (MemcachedException error)
        {
            // The copies the flush did not reach still hold it.
            node.Errors.Absorbed(AbsorbedError.LockUnanswered, null, error);
        }
    }

    /// <summary>Deletes the lock if this owner still holds it (best effort: its time to live ends it anyway).</summary>
    public static async Task ReleaseAsync(ServerNode node, CacheKey key, ViewRecordSeal seal, string owner, CancellationToken cancellationToken)
    {
        try
        {
            var holder = await node.ExecuteAsync(new GetCommand(key), cancellationToken, evenIfDown: true).ConfigureAwait(false);
            if (holder.Value is { } value && TryParse(key, seal, value, out var holderOwner, out _) && holderOwner == owner)
            {
                await node.ExecuteAsync(new DeleteCommand(key, holder.Cas), cancellationToken, evenIfDown: true).ConfigureAwait(false);
            }
        }
        catch (MemcachedException error)
        {
            // The time to live releases it.
            node.Errors.Absorbed(AbsorbedError.LockUnanswered, null, error);
        }
    }

    private static bool TryParse(CacheKey key, ViewRecordSeal seal, byte[] sealedValue, out string owner, out long expiresAtUnixMs)
    {
        owner = "";
        expiresAtUnixMs = 0;
        if (!seal.TryOpen(key.Text, sealedValue, out var value) || value.Length is 0 or > MaxValueLength || value.ContainsAnyExceptInRange((byte)0x20, (byte)0x7E))
        {
            return false;
        }

        var parts = Encoding.ASCII.GetString(value).Split(' ');
        if (parts.Length != 2 || parts[0].Length == 0
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out expiresAtUnixMs))
        {
            return false;
        }

        owner = parts[0];
        return true;
    }
}
