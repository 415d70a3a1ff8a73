using Ballast.Pool;
using Ballast.Protocol;
using Ballast.Protocol.Commands;

namespace Ballast.Failover;

/// <summary>
/// <see cref="FailoverPolicy.Rehash"/>, PECL memcache's default, kept to compare against and documented as unsafe:
/// a down server's keys move to <c>find_server(key + "-" + N)</c> for N = 0, 1, ... (20 attempts, as
/// <c>memcache.max_failover_attempts</c>) and move back when it returns, without a flush. No fencing, no shared view.
/// </summary>
internal sealed class RehashStrategy : FailoverStrategy
{
    private const int MaxFailoverAttempts = 20;

    public RehashStrategy(FailoverContext context)
        : base(context)
    {
    }

    public override async ValueTask<GetResult> GetAsync(CacheKey key, long leaseSeconds, CancellationToken cancellationToken)
    {
        var node = Target(key);
        if (node is null)
        {
            return GetResult.Miss;
        }

        var raw = await ReadOrMissAsync(node, new GetCommand(key, vivifySeconds: leaseSeconds), cancellationToken).ConfigureAwait(false);
        return Present(key, node, raw, 0);
    }

    public override async ValueTask<StoreResult> StoreAsync(CacheKey key, ReadOnlyMemory<byte> value, StoreMode mode, long ttlSeconds, uint flags, ulong cas, long? version, CancellationToken cancellationToken)
    {
        var node = Target(key);
        if (node is null)
        {
            return new StoreResult(StoreStatus.ServerDown, 0);
        }

        return await node.ExecuteAsync(new StoreCommand(key, value, mode, ttlSeconds, flags, cas), cancellationToken).ConfigureAwait(false);
    }

    public override async ValueTask<StoreResult> RefillAsync(CacheKey key, ReadOnlyMemory<byte> value, RefillLease lease, long ttlSeconds, CancellationToken cancellationToken)
    {
        var token = lease.Tokens[0];
        return await NodeOf(token).ExecuteAsync(new StoreCommand(key, value, StoreMode.Set, ttlSeconds, 0, token.Cas), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>PECL deletes on whichever server the key maps to now; a failure is the caller's problem.</summary>
    public override async ValueTask<DeleteStatus> DeleteAsync(CacheKey key, CancellationToken cancellationToken)
    {
        var node = Target(key) ?? throw new ServerUnavailableException($"No server is up for key '{key.Text}'; the delete was not sent.");
        return await node.ExecuteAsync(new DeleteCommand(key), cancellationToken).ConfigureAwait(false);
    }

    public override async ValueTask<bool> TouchAsync(CacheKey key, long ttlSeconds, CancellationToken cancellationToken)
        => Target(key) is { } node && (await ReadOrMissAsync(node, new GetCommand(key, withValue: false, touchSeconds: ttlSeconds), cancellationToken).ConfigureAwait(false)).IsHit;

    public override async ValueTask<GetResult> GetAndTouchAsync(CacheKey key, long ttlSeconds, CancellationToken cancellationToken)
    {
        if (Target(key) is not { } node)
        {
            return GetResult.Miss;
        }

        return Present(key, node, await ReadOrMissAsync(node, new GetCommand(key, touchSeconds: ttlSeconds), cancellationToken).ConfigureAwait(false), 0);
    }

    /// <summary>PECL has no mark-stale; like its delete, it goes to whichever server the key maps to now, unconfirmed.</summary>
    public override async ValueTask<bool> MarkStaleAsync(CacheKey key, long staleSeconds, CancellationToken cancellationToken)
        => await HomeFor(key).ExecuteAsync(new DeleteCommand(key, staleSeconds: staleSeconds), cancellationToken).ConfigureAwait(false) == DeleteStatus.Deleted;

    public override ServerNode HomeFor(CacheKey key)
        => Target(key) ?? throw new ServerUnavailableException($"No server is up for key '{key.Text}'; the request was not sent.");

    private ServerNode? Target(CacheKey key)
    {
        var primary = Primary(key);
        if (!primary.Health.IsDown)
        {
            return primary;
        }

        for (var attempt = 0; attempt < MaxFailoverAttempts; attempt++)
        {
            var node = LocateSuffixed(key, attempt);
            if (!node.Health.IsDown)
            {
                return node;
            }
        }

        return null;
    }
}
