using Ballast.Pool;
using Ballast.Protocol;
using Ballast.Protocol.Commands;

namespace Ballast.Failover;

/// <summary>
/// <see cref="FailoverPolicy.Gutter"/>: while a key's server is down, the key lives in a separate gutter pool with a
/// capped TTL. Unlike Facebook's gutter, entries are invalidated like any other (every delete also goes to the
/// gutter), and each entry carries the epoch of the outage it was written in: an entry from an earlier outage is
/// never served in a later one.
/// </summary>
internal sealed class GutterStrategy : FailoverStrategy
{
    public GutterStrategy(ServerPool pool)
        : base(pool)
    {
    }

    public override async ValueTask<GetResult> GetAsync(CacheKey key, long leaseSeconds, CancellationToken cancellationToken)
    {
        var primary = Primary(key);
        if (Pool.IsReadable(primary))
        {
            var raw = await ReadOrMissAsync(primary, new GetCommand(key, vivifySeconds: leaseSeconds), cancellationToken).ConfigureAwait(false);
            return Present(key, primary, raw);
        }

        if (!IsInOutage(primary, out var epoch) || GutterFor(key) is not { } gutter || !Pool.IsReadable(gutter))
        {
            return GetResult.Miss;
        }

        var stored = await ReadOrMissAsync(gutter, new GetCommand(key, vivifySeconds: Math.Min(leaseSeconds, MaxTtl)), cancellationToken).ConfigureAwait(false);
        if (stored.MustRefill || stored.RefillPending || stored.IsStale || stored.Value is null)
        {
            return Present(key, gutter, stored, epoch);
        }

        return ValueEnvelope.TryUnwrap(stored.Value, out var kind, out var stamp, out var value) && kind == EnvelopeKind.GutterEntry && stamp == epoch
            ? new GetResult(value, stored.Flags, stored.Cas)
            : GetResult.Miss;
    }

    public override async ValueTask<StoreResult> StoreAsync(CacheKey key, ReadOnlyMemory<byte> value, StoreMode mode, long ttlSeconds, uint flags, ulong cas, long? version, CancellationToken cancellationToken)
    {
        var primary = Primary(key);
        if (Pool.IsReadable(primary))
        {
            return await StoreOrInvalidateAsync(primary, key, new StoreCommand(key, value, mode, ttlSeconds, flags, cas), cancellationToken).ConfigureAwait(false);
        }

        if (mode is not StoreMode.Set and not StoreMode.Add || cas != 0)
        {
            // Append, prepend, replace and CAS act on a value the gutter may not hold; they wait for the server.
            return new StoreResult(StoreStatus.ServerDown, 0);
        }

        if (!IsInOutage(primary, out var epoch) || GutterFor(key) is not { } gutter || !Pool.IsReadable(gutter))
        {
            return new StoreResult(StoreStatus.ServerDown, 0);
        }

        var wrapped = ValueEnvelope.Wrap(EnvelopeKind.GutterEntry, epoch, value.Span);
        var ttl = CappedTtl(ttlSeconds);
        return await StoreOrInvalidateAsync(gutter, key, new StoreCommand(key, wrapped, mode, ttl, flags, 0), cancellationToken).ConfigureAwait(false);
    }

    public override ValueTask<StoreResult> RefillAsync(CacheKey key, ReadOnlyMemory<byte> value, RefillLease lease, long ttlSeconds, CancellationToken cancellationToken)
    {
        var token = lease.Tokens[0];
        return token.GutterEpoch == 0
            ? RefillUnderTokenAsync(key, value, token, ttlSeconds, cancellationToken)
            : RefillUnderTokenAsync(key, ValueEnvelope.Wrap(EnvelopeKind.GutterEntry, token.GutterEpoch, value.Span), token, CappedTtl(ttlSeconds), cancellationToken);
    }

    /// <summary>Deletes on the key's server and in the gutter, both confirmed or fenced.</summary>
    public override async ValueTask<DeleteStatus> DeleteAsync(CacheKey key, CancellationToken cancellationToken)
    {
        var primary = InvalidateAsync(Primary(key), key, cancellationToken).AsTask();
        var gutter = GutterFor(key) is { } node ? InvalidateAsync(node, key, cancellationToken).AsTask() : Task.FromResult(DeleteStatus.NotFound);
        var statuses = await Task.WhenAll(primary, gutter).ConfigureAwait(false);
        return statuses.Contains(DeleteStatus.Deleted) ? DeleteStatus.Deleted : statuses[0];
    }

    private long MaxTtl => (long)Pool.Options.Gutter.MaxTimeToLive.TotalSeconds;

    /// <summary>A gutter entry's TTL: the caller's, capped at the gutter's maximum (no TTL counts as above it).</summary>
    private long CappedTtl(long ttlSeconds) => ttlSeconds == 0 || ttlSeconds > MaxTtl ? MaxTtl : ttlSeconds;

    private ServerNode? GutterFor(CacheKey key)
    {
        if (Pool.GutterLocator is null)
        {
            return null;
        }

        Span<byte> utf8 = stackalloc byte[CacheKey.MaxLength];
        return Pool.Gutter[Pool.GutterLocator.Locate(key.GetUtf8(utf8))];
    }

    /// <summary>
    /// True when the primary is down for a known outage, with that outage's epoch. A primary that is merely unreadable
    /// because this frontend's view lapsed is not in an outage: others may still be using it, so the gutter is no
    /// place to go.
    /// </summary>
    private bool IsInOutage(ServerNode primary, out long epoch)
    {
        epoch = Pool.OutageEpoch(primary);
        return epoch != 0 && Pool.View.IsLeaseFresh;
    }
}
