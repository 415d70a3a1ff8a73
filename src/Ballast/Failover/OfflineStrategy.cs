using System.Buffers;
using Ballast.Pool;
using Ballast.Protocol;
using Ballast.Protocol.Commands;

namespace Ballast.Failover;

/// <summary>
/// <see cref="FailoverPolicy.Offline"/>: a down server's keys are misses. Nothing moves, so nothing is left behind
/// on another server for a later outage to serve.
/// </summary>
internal sealed class OfflineStrategy : FailoverStrategy
{
    public OfflineStrategy(ServerPool pool)
        : base(pool)
    {
    }

    public override ValueTask<GetResult> GetAsync(CacheKey key, long leaseSeconds, CancellationToken cancellationToken)
    {
        var node = Primary(key);
        if (!Pool.IsReadable(node))
        {
            return new ValueTask<GetResult>(GetResult.Miss);
        }

        // Hot path, no async wrapper: the command itself presents the hit and turns a server failure into a miss, so
        // the caller awaits the command directly (one allocation per read besides the value).
        return node.ExecuteAsync(PresentedGetCommand.Rent(key, node, leaseSeconds), cancellationToken);
    }

    public override ValueTask<BufferedGetResult> GetIntoAsync(CacheKey key, IBufferWriter<byte> destination, CancellationToken cancellationToken)
    {
        var node = Primary(key);
        if (!Pool.IsReadable(node))
        {
            return new ValueTask<BufferedGetResult>(BufferedGetResult.Miss);
        }

        // Values are stored as they are under this policy, so they can go from the receive buffer to the caller's.
        return node.ExecuteAsync(BufferedGetCommand.Rent(key, node.EndPoint, destination), cancellationToken);
    }

    /// <summary>One batch (one round trip) per readable server; keys of unreadable servers are misses.</summary>
    public override async ValueTask<GetResult[]> GetManyAsync(CacheKey[] keys, CancellationToken cancellationToken)
    {
        var results = new GetResult[keys.Length];
        var batches = new Dictionary<ServerNode, List<int>>();
        for (var i = 0; i < keys.Length; i++)
        {
            var node = Primary(keys[i]);
            if (!Pool.IsReadable(node))
            {
                continue;
            }

            if (!batches.TryGetValue(node, out var indexes))
            {
                batches[node] = indexes = [];
            }

            indexes.Add(i);
        }

        await Task.WhenAll(batches.Select(async batch =>
        {
            try
            {
                var found = await batch.Key.ExecuteAsync(new MultiGetCommand(batch.Value.Select(i => keys[i]).ToArray()), cancellationToken).ConfigureAwait(false);
                for (var j = 0; j < found.Length; j++)
                {
                    results[batch.Value[j]] = Present(keys[batch.Value[j]], batch.Key, found[j]);
                }
            }
            catch (MemcachedException)
            {
                // The server failed mid-batch: its keys are misses.
            }
        })).ConfigureAwait(false);
        return results;
    }

    public override ValueTask<StoreResult> StoreAsync(CacheKey key, ReadOnlyMemory<byte> value, StoreMode mode, long ttlSeconds, uint flags, ulong cas, long? version, CancellationToken cancellationToken)
    {
        var node = Primary(key);
        if (!Pool.IsReadable(node))
        {
            return new ValueTask<StoreResult>(new StoreResult(StoreStatus.ServerDown, 0));
        }

        return StoreOrInvalidateAsync(node, key, () => new StoreCommand(key, value, mode, ttlSeconds, flags, cas), cancellationToken);
    }

    public override ValueTask<StoreResult> RefillAsync(CacheKey key, ReadOnlyMemory<byte> value, RefillLease lease, long ttlSeconds, CancellationToken cancellationToken)
        => RefillUnderTokenAsync(key, value, lease.Tokens[0], ttlSeconds, cancellationToken);

    public override ValueTask<DeleteStatus> DeleteAsync(CacheKey key, CancellationToken cancellationToken)
        => InvalidateAsync(Primary(key), key, cancellationToken);
}
