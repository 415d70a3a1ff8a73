using System.Buffers;
using System.Runtime.ExceptionServices;
using Ballast.Diagnostics;
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
    public OfflineStrategy(FailoverContext context)
        : base(context)
    {
    }

    public override ValueTask<GetResult> GetAsync(CacheKey key, long leaseSeconds, CancellationToken cancellationToken)
    {
        var node = Primary(key);
        if (!Access.IsReadable(node))
        {
            return new ValueTask<GetResult>(GetResult.Miss);
        }

        // Hot path, no async wrapper: the command itself presents the hit and turns a server failure into a miss, so
        // the caller awaits the command directly (one allocation per read besides the value).
        return node.ExecuteAsync(PresentedGetCommand.Rent(key, node, leaseSeconds, EpochOf(node)), cancellationToken);
    }

    public override ValueTask<BufferedGetResult> GetIntoAsync(CacheKey key, IBufferWriter<byte>? destination, long touchSeconds, CancellationToken cancellationToken)
    {
        var node = Primary(key);
        if (!Access.IsReadable(node))
        {
            return new ValueTask<BufferedGetResult>(BufferedGetResult.Miss);
        }

        // Values are stored as they are under this policy, so they can go from the receive buffer to the caller's.
        return node.ExecuteAsync(BufferedGetCommand.Rent(key, node.EndPoint, destination, touchSeconds, node.Errors), cancellationToken);
    }

    /// <summary>As <see cref="GetAsync"/>'s hot path: the pooled command is awaited directly, with the touch in its request.</summary>
    public override ValueTask<GetResult> GetAndTouchAsync(CacheKey key, long ttlSeconds, CancellationToken cancellationToken)
    {
        var node = Primary(key);
        if (!Access.IsReadable(node))
        {
            return new ValueTask<GetResult>(GetResult.Miss);
        }

        return node.ExecuteAsync(PresentedGetCommand.Rent(key, node, vivifySeconds: 0, EpochOf(node), touchSeconds: ttlSeconds), cancellationToken);
    }

    /// <summary>One batch (one round trip) per readable server; keys of unreadable servers are misses.</summary>
    public override async ValueTask<GetResult[]> GetManyAsync(CacheKey[] keys, CancellationToken cancellationToken)
    {
        var nodes = Context.Servers.Main;
        if (nodes.Length == 1 || keys.Length == 0)
        {
            // One server: its batch's own result array, presented in place, is the answer.
            var found = keys.Length > 0 ? await ReadBatchAsync(nodes[0], keys, cancellationToken).ConfigureAwait(false) : null;
            return found ?? new GetResult[keys.Length];
        }

        var results = new GetResult[keys.Length];

        // Group by server; every batch is sent before any is awaited, so they are all in flight together.
        var owners = new int[keys.Length];
        var counts = new int[nodes.Length];
        for (var i = 0; i < keys.Length; i++)
        {
            owners[i] = Primary(keys[i]).Index;
            counts[owners[i]]++;
        }

        var batches = new ValueTask[nodes.Length];
        for (var n = 0; n < nodes.Length; n++)
        {
            if (counts[n] == 0)
            {
                continue;
            }

            var batchKeys = new CacheKey[counts[n]];
            var positions = new int[counts[n]];
            for (int i = 0, j = 0; i < keys.Length; i++)
            {
                if (owners[i] == n)
                {
                    batchKeys[j] = keys[i];
                    positions[j++] = i;
                }
            }

            batches[n] = ReadBatchIntoAsync(nodes[n], batchKeys, positions, results, cancellationToken);
        }

        // Every batch is awaited even after one failed, so none is left unobserved; the first failure is rethrown.
        ExceptionDispatchInfo? failure = null;
        foreach (var batch in batches)
        {
            try
            {
                await batch.ConfigureAwait(false);
            }
            catch (Exception error)
            {
                failure ??= ExceptionDispatchInfo.Capture(error);
            }
        }

        failure?.Throw();
        return results;
    }

    /// <summary>
    /// Reads one server's batch, presented in place; null when the server is not readable or failed (its keys are
    /// misses). Readability is decided once per batch, not once per key.
    /// </summary>
    private async ValueTask<GetResult[]?> ReadBatchAsync(ServerNode node, CacheKey[] keys, CancellationToken cancellationToken)
    {
        if (!Access.IsReadable(node))
        {
            return null;
        }

        var epoch = EpochOf(node);
        GetResult[] found;
        try
        {
            found = await node.ExecuteAsync(new MultiGetCommand(keys), cancellationToken).ConfigureAwait(false);
        }
        catch (MemcachedException error)
        {
            node.Errors.Absorbed(AbsorbedError.BatchReadMiss, keys[0].Text, error);
            return null;
        }

        for (var j = 0; j < found.Length; j++)
        {
            found[j] = Present(keys[j], node, found[j], epoch);
        }

        return found;
    }

    /// <summary>Reads one server's batch into <paramref name="results"/> at <paramref name="positions"/>.</summary>
    private async ValueTask ReadBatchIntoAsync(ServerNode node, CacheKey[] keys, int[] positions, GetResult[] results, CancellationToken cancellationToken)
    {
        if (await ReadBatchAsync(node, keys, cancellationToken).ConfigureAwait(false) is not { } found)
        {
            return;
        }

        for (var j = 0; j < found.Length; j++)
        {
            results[positions[j]] = found[j];
        }
    }

    public override ValueTask<StoreResult> StoreAsync(CacheKey key, ReadOnlyMemory<byte> value, StoreMode mode, long ttlSeconds, uint flags, ulong cas, long? version, CancellationToken cancellationToken)
    {
        var node = Primary(key);
        if (!Access.IsWritable(node))
        {
            return NotStoredAsync(node, key, cancellationToken);
        }

        return StoreOrInvalidateAsync(node, key, new StoreCommand(key, value, mode, ttlSeconds, flags, cas), cancellationToken);
    }

    public override ValueTask<StoreResult> RefillAsync(CacheKey key, ReadOnlyMemory<byte> value, RefillLease lease, long ttlSeconds, CancellationToken cancellationToken)
        => RefillUnderTokenAsync(key, value, lease.Tokens[0], ttlSeconds, cancellationToken);

    public override ValueTask<DeleteStatus> DeleteAsync(CacheKey key, CancellationToken cancellationToken)
        => InvalidateAsync(Primary(key), key, cancellationToken);
}
