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
    public GutterStrategy(FailoverContext context)
        : base(context)
    {
    }

    public override ValueTask<GetResult> GetAsync(CacheKey key, long leaseSeconds, CancellationToken cancellationToken)
        => ReadPrimaryOrGutterAsync(key, inGutter => new GetCommand(key, vivifySeconds: inGutter ? Math.Min(leaseSeconds, MaxTtl) : leaseSeconds), cancellationToken);

    public override ValueTask<GetResult> GetAndTouchAsync(CacheKey key, long ttlSeconds, CancellationToken cancellationToken)
        => ReadPrimaryOrGutterAsync(key, inGutter => new GetCommand(key, touchSeconds: inGutter ? CappedTtl(ttlSeconds) : ttlSeconds), cancellationToken);

    /// <summary>Touches the key's own server, or while it is in an outage the key's gutter entry (TTL capped).</summary>
    public override async ValueTask<bool> TouchAsync(CacheKey key, long ttlSeconds, CancellationToken cancellationToken)
    {
        var primary = Primary(key);
        if (Access.IsReadable(primary))
        {
            return await base.TouchAsync(key, ttlSeconds, cancellationToken).ConfigureAwait(false);
        }

        // Only an entry of this outage counts, and touching tells nothing of its epoch: read it (and touch it) instead.
        return (await GetAndTouchAsync(key, ttlSeconds, cancellationToken).ConfigureAwait(false)).IsHit;
    }

    /// <summary>The key's server and its gutter server: a mark-stale goes to both, each confirmed or fenced.</summary>
    protected override IReadOnlyList<ServerNode> InvalidationTargets(CacheKey key)
        => GutterFor(key) is { } gutter ? [Primary(key), gutter] : [Primary(key)];

    /// <summary>
    /// A read of the key's own server while it is readable; while it is in an outage, of the key's gutter entry of
    /// that outage. <paramref name="command"/> makes the request for either (told whether it goes to the gutter).
    /// </summary>
    private async ValueTask<GetResult> ReadPrimaryOrGutterAsync(CacheKey key, Func<bool, GetCommand> command, CancellationToken cancellationToken)
    {
        var primary = Primary(key);
        if (Access.IsReadable(primary))
        {
            var serverEpoch = EpochOf(primary);
            var raw = await ReadOrMissAsync(primary, command(false), cancellationToken).ConfigureAwait(false);
            return Present(key, primary, raw, serverEpoch);
        }

        if (!IsInOutage(primary, out var epoch) || GutterFor(key) is not { } gutter || !Access.IsReadable(gutter))
        {
            return GetResult.Miss;
        }

        var gutterServerEpoch = EpochOf(gutter);
        var stored = await ReadOrMissAsync(gutter, command(true), cancellationToken).ConfigureAwait(false);
        return PresentGutterEntry(key, gutter, stored, epoch, gutterServerEpoch);
    }

    /// <summary>A gutter read as a caller may see it: only an entry written in this outage (its epoch) is a hit.</summary>
    private static GetResult PresentGutterEntry(CacheKey key, ServerNode gutter, GetResult stored, long epoch, long gutterServerEpoch)
    {
        if (!ServableRule.IsServable(stored))
        {
            return Present(key, gutter, stored, gutterServerEpoch, epoch);
        }

        return ValueEnvelope.TryUnwrap(stored.Value!, out var kind, out var stamp, out var value) && kind == EnvelopeKind.GutterEntry && stamp == epoch
            ? new GetResult(value, stored.Flags, stored.Cas)
            : GetResult.Miss;
    }

    public override async ValueTask<StoreResult> StoreAsync(CacheKey key, ReadOnlyMemory<byte> value, StoreMode mode, long ttlSeconds, uint flags, ulong cas, long? version, CancellationToken cancellationToken)
    {
        var primary = Primary(key);
        if (Access.IsWritable(primary))
        {
            return await StoreOrInvalidateAsync(primary, key, new StoreCommand(key, value, mode, ttlSeconds, flags, cas), cancellationToken).ConfigureAwait(false);
        }

        if (mode is not StoreMode.Set and not StoreMode.Add || cas != 0)
        {
            // Append, prepend, replace and CAS act on a value the gutter may not hold; they wait for the server.
            return await NotStoredAnywhereAsync(key, primary, cancellationToken).ConfigureAwait(false);
        }

        if (!IsInOutage(primary, out var epoch) || GutterFor(key) is not { } gutter || !Access.IsWritable(gutter))
        {
            return await NotStoredAnywhereAsync(key, primary, cancellationToken).ConfigureAwait(false);
        }

        // The key's server keeps its old value, which the flush before its readmission deletes: unless that flush
        // and readmission already happened and this frontend's view lags behind them. So the delete there is owed
        // until the server confirms it (see NotStoredAsync).
        try
        {
            await OweDeleteUntilConfirmedAsync(primary, key, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The caller left before the gutter write was sent: it lands nowhere, and the gutter may hold an older
            // entry of this outage (another frontend's refill whose lease was taken before this write), served to
            // every frontend for the rest of the outage. So the key is invalidated in the gutter, to its end, as for
            // any write that did not land (simulator seed gutter 61003979: that refill landed 0.3 ms before the caller
            // left, during the owed delete, and was served 1.01 s after the set returned).
            _ = InvalidateAsync(gutter, key, cancellationToken);
            throw;
        }

        var wrapped = ValueEnvelope.Wrap(EnvelopeKind.GutterEntry, epoch, value.Span);
        var ttl = CappedTtl(ttlSeconds);
        return await StoreOrInvalidateAsync(gutter, key, new StoreCommand(key, wrapped, mode, ttl, flags, 0), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A write that landed nowhere is an invalidation (see <see cref="FailoverStrategy.NotStoredAsync"/>): of the key's
    /// server unless every frontend has it fenced, and of its gutter entry, which other frontends may serve in this
    /// outage.
    /// </summary>
    private async ValueTask<StoreResult> NotStoredAnywhereAsync(CacheKey key, ServerNode primary, CancellationToken cancellationToken)
    {
        var gutter = GutterFor(key);
        var primaryInvalidated = NotStoredAsync(primary, key, cancellationToken).AsTask();
        var gutterInvalidated = gutter is null ? Task.CompletedTask : InvalidateAsync(gutter, key, cancellationToken).AsTask();
        await Task.WhenAll(primaryInvalidated, gutterInvalidated).ConfigureAwait(false);
        return await primaryInvalidated.ConfigureAwait(false);
    }

    public override ValueTask<StoreResult> RefillAsync(CacheKey key, ReadOnlyMemory<byte> value, RefillLease lease, long ttlSeconds, CancellationToken cancellationToken)
    {
        var token = lease.Tokens[0];
        return token.GutterEpoch == 0
            ? RefillUnderTokenAsync(key, value, token, ttlSeconds, cancellationToken)
            : RefillUnderTokenAsync(key, ValueEnvelope.Wrap(EnvelopeKind.GutterEntry, token.GutterEpoch, value.Span), token, CappedTtl(ttlSeconds), cancellationToken);
    }

    /// <summary>Deletes on the key's server and in the gutter, both confirmed or fenced, whether or not the caller waits.</summary>
    public override ValueTask<DeleteStatus> DeleteAsync(CacheKey key, CancellationToken cancellationToken)
        => Context.Invalidations.Detach(DeleteBothAsync(key, cancellationToken), cancellationToken, "invalidation", key.Text);

    private async ValueTask<DeleteStatus> DeleteBothAsync(CacheKey key, CancellationToken callerLeft)
    {
        var primary = Context.Invalidations.DeleteAsync(Primary(key), key, callerLeft).AsTask();
        var gutter = GutterFor(key) is { } node ? Context.Invalidations.DeleteAsync(node, key, callerLeft).AsTask() : Task.FromResult(DeleteStatus.NotFound);
        var statuses = await Task.WhenAll(primary, gutter).ConfigureAwait(false);
        return statuses.Contains(DeleteStatus.Deleted) ? DeleteStatus.Deleted : statuses[0];
    }

    private long MaxTtl => (long)Context.Options.Gutter.MaxTimeToLive.TotalSeconds;

    /// <summary>A gutter entry's TTL: the caller's, capped at the gutter's maximum (no TTL counts as above it).</summary>
    private long CappedTtl(long ttlSeconds) => ttlSeconds == 0 || ttlSeconds > MaxTtl ? MaxTtl : ttlSeconds;

    private ServerNode? GutterFor(CacheKey key)
    {
        if (Context.Servers.GutterLocator is null)
        {
            return null;
        }

        Span<byte> utf8 = stackalloc byte[CacheKey.MaxLength];
        return Context.Servers.Gutter[Context.Servers.GutterLocator.Locate(key.GetUtf8(utf8))];
    }

    /// <summary>
    /// True when the primary is down for a known outage, with that outage's epoch. A primary that is merely unreadable
    /// because this frontend's view lapsed is not in an outage: others may still be using it, so the gutter is no
    /// place to go. Nor is it while the outage's fence may not have reached every frontend (held for less than the
    /// bound, or still owed by this one): others may still write the key's server, and a gutter entry written or read
    /// meanwhile would miss their writes for the rest of the outage (simulator seed gutter 2003580: a frontend whose
    /// fence was its own so far wrote version 7 to the gutter; another wrote 8 to the server; once the fence held,
    /// 7 was served from the gutter for seconds).
    /// </summary>
    private bool IsInOutage(ServerNode primary, out long epoch)
    {
        epoch = Access.OutageEpoch(primary);
        return epoch != 0 && Access.IsLeaseFresh
            && (!Access.View.Enabled || Access.IsFenceSettled(primary, epoch, Context.Options.SharedView.Bound));
    }
}
