using Ballast.Extensions;
using Ballast.Simulation.Checking;
using Microsoft.Extensions.Caching.Distributed;

namespace Ballast.Simulation.Workload;

/// <summary>
/// One application request loop of one frontend: takes its operations from its stream, runs each against the real
/// client (or its <see cref="BallastDistributedCache"/>) the way a cache-aside application would, and records what it
/// got. Writes go to the database first and hold the key's write lock until their invalidation or store returns.
/// </summary>
internal sealed partial class FrontendWorker
{
    private readonly World _world;
    private readonly int _frontend;
    private readonly int _worker;
    private readonly MemcachedClient _client;
    private readonly BallastDistributedCache _cache;
    private readonly OperationSource _source;
    private readonly int _maxOperations;
    private readonly IReadOnlySet<(int Worker, int Index)> _dropped;

    public FrontendWorker(World world, int frontend, int worker, MemcachedClient client, BallastDistributedCache cache, OperationSource source, int maxOperations, IReadOnlySet<(int Worker, int Index)> dropped)
    {
        _world = world;
        _frontend = frontend;
        _worker = worker;
        _client = client;
        _cache = cache;
        _source = source;
        _maxOperations = maxOperations;
        _dropped = dropped;
    }

    private int WorkerId => (_frontend * _world.Options.WorkersPerFrontend) + _worker;

    public async Task RunAsync()
    {
        for (var index = 0; index < _maxOperations; index++)
        {
            var operation = _source.Next();
            await _world.Scheduler.Delay(TimeSpan.FromTicks(operation.Think), _world.Clock, CancellationToken.None).ConfigureAwait(false);
            if (_world.WorkloadStopped)
            {
                return;
            }

            if (_dropped.Contains((WorkerId, index)))
            {
                continue;
            }

            await RunOneAsync(operation, index).ConfigureAwait(false);
        }
    }

    private async Task RunOneAsync(PlannedOperation operation, int index)
    {
        var start = _world.Now;
        using var caller = operation.CancelAfter >= 0 ? new CancellationTokenSource(TimeSpan.FromTicks(operation.CancelAfter), _world.Clock) : null;
        var token = caller?.Token ?? CancellationToken.None;
        switch (operation.Kind)
        {
            case OperationKind.BatchGet:
                await BatchGetAsync(operation, index, start, token).ConfigureAwait(false);
                return;
            case OperationKind.BatchSet or OperationKind.BatchDelete:
                await BatchWriteAsync(operation, index, token).ConfigureAwait(false);
                return;
            case OperationKind.Delete or OperationKind.MarkStale or OperationKind.Set or OperationKind.CacheSet or OperationKind.CacheRemove:
                await WriteAsync(operation, index, token).ConfigureAwait(false);
                return;
            case OperationKind.Increment:
                await IncrementAsync(operation, index, start, token).ConfigureAwait(false);
                return;
            case OperationKind.Touch:
                await OutcomeOnlyAsync(operation, index, start, async () => (await _client.TouchAsync(DataKey(operation.Key), TimeSpan.FromSeconds(60), token).ConfigureAwait(false)).ToString()).ConfigureAwait(false);
                return;
            case OperationKind.CacheRefresh:
                await OutcomeOnlyAsync(operation, index, start, async () =>
                {
                    await _cache.RefreshAsync(CacheKey(operation.Key), token).ConfigureAwait(false);
                    return "refreshed";
                }).ConfigureAwait(false);
                return;
            default:
                await ReadAsync(operation, index, start, token).ConfigureAwait(false);
                return;
        }
    }

    private async Task WriteAsync(PlannedOperation operation, int index, CancellationToken token)
    {
        var isCache = operation.Kind is OperationKind.CacheSet or OperationKind.CacheRemove;
        var dbKey = isCache ? _world.Options.DataKeys + operation.Key : operation.Key;
        var name = isCache ? CacheKey(operation.Key) : DataKey(operation.Key);
        await _world.Database.LockAsync(dbKey).ConfigureAwait(false);
        var start = _world.Now;
        var version = _world.Database.Write(dbKey);
        string outcome;
        try
        {
            outcome = operation.Kind switch
            {
                OperationKind.Delete => (await _client.DeleteAsync(name, token).ConfigureAwait(false)).ToString(),
                OperationKind.MarkStale => (await _client.MarkStaleAsync(name, TimeSpan.FromSeconds(30), token).ConfigureAwait(false)).ToString(),
                OperationKind.Set when _client.Policy == FailoverPolicy.Replicated
                    => (await _client.SetVersionedAsync(name, SimulatedDatabase.Encode(version), version, Ttl(operation), token).ConfigureAwait(false)).Status.ToString(),
                OperationKind.Set => (await _client.SetAsync(name, SimulatedDatabase.Encode(version), Ttl(operation), 0, token).ConfigureAwait(false)).Status.ToString(),
                OperationKind.CacheSet => await CacheSetAsync(name, version, operation, token).ConfigureAwait(false),
                _ => await CacheRemoveAsync(name, token).ConfigureAwait(false),
            };
        }
#pragma warning disable CA1031 // The application sees the exception; the write still completed (database first).
        catch (Exception error)
#pragma warning restore CA1031
        {
            outcome = Describe(error);
        }
        finally
        {
            _world.Database.Unlock(dbKey);
        }

        _world.History.Add(new OperationRecord(_frontend, _worker, index, operation.Kind, name, dbKey, start, _world.Now, version, false, false, true, outcome));
    }

    private async Task<string> CacheSetAsync(string name, long version, PlannedOperation operation, CancellationToken token)
    {
        var options = operation.Other % 2 == 0
            ? new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromSeconds(1 + (operation.Other % 4)) }
            : new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(2 + operation.Other) };
        await _cache.SetAsync(name, SimulatedDatabase.Encode(version), options, token).ConfigureAwait(false);
        return "set";
    }

    private async Task<string> CacheRemoveAsync(string name, CancellationToken token)
    {
        await _cache.RemoveAsync(name, token).ConfigureAwait(false);
        return "removed";
    }

    private async Task IncrementAsync(PlannedOperation operation, int index, long start, CancellationToken token)
    {
        var name = CounterKey(operation.Key);
        long value = -1;
        string outcome;
        try
        {
            var result = await _client.IncrementAsync(name, 1, initial: 1, cancellationToken: token).ConfigureAwait(false);
            outcome = result.Found ? "value" : "not found";
            value = result.Found ? (long)result.Value : -1;
        }
#pragma warning disable CA1031 // A counter that cannot be had now is an error the application sees, not a duplicate.
        catch (Exception error)
#pragma warning restore CA1031
        {
            outcome = Describe(error);
        }

        _world.History.Add(new OperationRecord(_frontend, _worker, index, operation.Kind, name, -1 - operation.Key, start, _world.Now, value, value >= 0, false, false, outcome));
    }

    private async Task OutcomeOnlyAsync(PlannedOperation operation, int index, long start, Func<Task<string>> call)
    {
        string outcome;
        try
        {
            outcome = await call().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Recorded; nothing depends on it.
        catch (Exception error)
#pragma warning restore CA1031
        {
            outcome = Describe(error);
        }

        _world.History.Add(new OperationRecord(_frontend, _worker, index, operation.Kind, DataKey(operation.Key), operation.Key, start, _world.Now, 0, false, false, false, outcome));
    }

    private static TimeSpan? Ttl(PlannedOperation operation) => operation.TimeToLive > 0 ? TimeSpan.FromSeconds(operation.TimeToLive) : null;

    private static string DataKey(int key) => "k" + key.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string CounterKey(int key) => "c" + key.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string CacheKey(int key) => "d" + key.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string Describe(Exception error) => error switch
    {
        OperationCanceledException => "cancelled",
        _ => error.GetType().Name,
    };
}
