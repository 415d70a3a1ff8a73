using Ballast.Diagnostics;
using Ballast.Protocol;

namespace Ballast;

/// <summary>What the client tells about itself: per-operation measurement, fence and failback telemetry, and the state a health check reads.</summary>
public sealed partial class MemcachedClient
{
    /// <summary>Invalidations this frontend owes: deletes that were not confirmed and that its journal keeps retrying.</summary>
    public int PendingInvalidationCount => _pool.Journal.Count;

    /// <summary>
    /// How long ago the shared view was last read from a quorum of servers; null when the pool keeps no shared view
    /// or has not read it yet. Past three quarters of <see cref="SharedViewOptions.Bound"/> every read misses; past the
    /// bound the view is stale.
    /// </summary>
    public TimeSpan? SharedViewAge => _pool.View.Enabled && _pool.View.HasLease ? _pool.View.LeaseAge : null;

    /// <summary>Reads the shared view now, outside its schedule (tests that need a read at a given moment).</summary>
    internal Task RefreshSharedViewAsync(CancellationToken cancellationToken) => _pool.RefreshViewAsync(cancellationToken);

    /// <summary>Starts measuring an operation on one key (nothing when nobody listens). Its server is the key's home.</summary>
    private Operation Observe(string operation, CacheKey key)
    {
        if (!Instruments.IsOperationObserved)
        {
            return default;
        }

        Span<byte> utf8 = stackalloc byte[CacheKey.MaxLength];
        return Operation.Start(operation, _pool.Servers.Primary(key.GetUtf8(utf8)).EndPoint);
    }

    /// <summary>Starts measuring an operation on many keys or servers (no one server to tag).</summary>
    private static Operation Observe(string operation) => Instruments.IsOperationObserved ? Operation.Start(operation, null) : default;

    private static string StoreOperationName(Protocol.Commands.StoreMode mode, ulong cas) => cas != 0 ? "cas" : mode switch
    {
        Protocol.Commands.StoreMode.Add => "add",
        Protocol.Commands.StoreMode.Replace => "replace",
        Protocol.Commands.StoreMode.Append => "append",
        Protocol.Commands.StoreMode.Prepend => "prepend",
        _ => "set",
    };

    private static bool IsHit(GetResult result) => result.IsHit;

    private static bool IsHit(BufferedGetResult result) => result.IsHit;

    private void RecordFence(ServerFailedEventArgs args)
    {
        _options.Logger.ServerFenced(args.Server, args.Reason, args.Epoch, args.Detail);
        if (Instruments.Fences.Enabled)
        {
            var tags = Instruments.ServerTags(args.Server);
            tags.Add("ballast.failure.reason", args.Reason.ToString());
            Instruments.Fences.Add(1, tags);
        }
    }

    private void RecordFailback(ServerRecoveredEventArgs args)
    {
        _options.Logger.ServerReadmitted(args.Server, args.Epoch, args.Downtime.TotalMilliseconds, args.FlushedByThisFrontend);
        Instruments.Failbacks.Add(1, Instruments.ServerTags(args.Server));
    }

    private void RecordFlush(ServerFlushedEventArgs args)
    {
        if (args.Reason == ServerFlushReason.NewPool)
        {
            // Said once per client, loudly: adopting Ballast on a warm pool without `ballast view init` empties it.
            if (Interlocked.Exchange(ref _newPoolFlushReported, 1) == 0)
            {
                _options.Logger.NewPoolFlushed(_pool.Identity.PoolName);
            }
        }

        _options.Logger.ServerFlushed(args.Server, args.Reason, args.Epoch);
        var tags = Instruments.ServerTags(args.Server);
        tags.Add("ballast.flush.reason", args.Reason.ToString());
        Instruments.Flushes.Add(1, tags);
    }
}
