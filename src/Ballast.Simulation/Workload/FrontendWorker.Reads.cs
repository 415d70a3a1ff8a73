using Ballast.Simulation.Checking;

namespace Ballast.Simulation.Workload;

/// <summary>The reads: a hit returns the cached version, a miss (or an error) the database's.</summary>
internal sealed partial class FrontendWorker
{
    private async Task ReadAsync(PlannedOperation operation, int index, long start, CancellationToken token)
    {
        var isCache = operation.Kind == OperationKind.CacheGet;
        var dbKey = isCache ? _world.Options.DataKeys + operation.Key : operation.Key;
        var name = isCache ? CacheKey(operation.Key) : DataKey(operation.Key);
        long version;
        bool hit;
        string outcome;
        try
        {
            (version, hit, outcome) = operation.Kind switch
            {
                OperationKind.Get => FromCache(await _client.GetAsync(name, token).ConfigureAwait(false), dbKey),
                OperationKind.GetAndTouch => FromCache(await _client.GetAndTouchAsync(name, TimeSpan.FromSeconds(60), token).ConfigureAwait(false), dbKey),
                OperationKind.LeasedGet => await LeasedGetAsync(name, dbKey, operation, token).ConfigureAwait(false),
                OperationKind.GetOrCreate => await GetOrCreateAsync(name, dbKey, operation, token).ConfigureAwait(false),
                OperationKind.GetMany => await GetManyAsync(operation, index, start, token).ConfigureAwait(false),
                _ => await CacheGetAsync(name, dbKey, operation, token).ConfigureAwait(false),
            };
        }
        catch (OperationCanceledException)
        {
            // The caller gave up before it had a value: nothing was read.
            _world.History.Add(new OperationRecord(_frontend, _worker, index, operation.Kind, name, dbKey, start, _world.Now, 0, false, false, false, "cancelled"));
            return;
        }
#pragma warning disable CA1031 // As an application would: an error is a database read.
        catch (Exception error)
#pragma warning restore CA1031
        {
            (version, hit, outcome) = (_world.Database.Read(dbKey), false, Describe(error));
        }

        _world.History.Add(new OperationRecord(_frontend, _worker, index, operation.Kind, name, dbKey, start, _world.Now, version, hit, true, false, outcome));
    }

    private (long Version, bool Hit, string Outcome) FromCache(GetResult result, int dbKey)
        => SimulatedDatabase.TryDecode(result.Value, out var version) ? (version, true, "hit") : (_world.Database.Read(dbKey), false, "miss");

    private async Task<(long, bool, string)> LeasedGetAsync(string name, int dbKey, PlannedOperation operation, CancellationToken token)
    {
        var result = await _client.GetForRefillAsync(name, token).ConfigureAwait(false);
        if (SimulatedDatabase.TryDecode(result.Value, out var cached))
        {
            return (cached, true, "hit");
        }

        var version = _world.Database.Read(dbKey);
        if (result.Lease is not { } lease)
        {
            return (version, false, "miss, no lease");
        }

        // The value read now, refilled after a while: the lease is what keeps it from landing after a later write.
        await _world.Scheduler.Delay(TimeSpan.FromTicks(operation.Slow / 4), _world.Clock, CancellationToken.None).ConfigureAwait(false);
        try
        {
            var stored = await _client.RefillAsync(name, SimulatedDatabase.Encode(version), lease, Ttl(operation), token).ConfigureAwait(false);
            return (version, false, "miss, refill " + stored.Status);
        }
        catch (OperationCanceledException)
        {
            return (version, false, "miss, refill cancelled");
        }
    }

    private async Task<(long, bool, string)> GetOrCreateAsync(string name, int dbKey, PlannedOperation operation, CancellationToken token)
    {
        var created = false;
        var text = await _client.GetOrCreateAsync(
            name,
            async factoryToken =>
            {
                created = true;
                var version = _world.Database.Read(dbKey);
                _world.History.FactoryRuns.TryAdd((_frontend, name, version), _world.Now);
                await _world.Scheduler.Delay(TimeSpan.FromTicks(operation.Slow), _world.Clock, factoryToken).ConfigureAwait(false);
                return SimulatedDatabase.Text(version);
            },
            SimulationJson.Default.String,
            Ttl(operation),
            token).ConfigureAwait(false);
        if (!SimulatedDatabase.TryDecode(text, out var read))
        {
            throw new InvalidDataException($"GetOrCreate of {name} returned '{text}', which this workload never wrote.");
        }

        return (read, !created, created ? "created" : "cached or joined");
    }

    private async Task<(long, bool, string)> GetManyAsync(PlannedOperation operation, int index, long start, CancellationToken token)
    {
        var name = DataKey(operation.Key);
        var otherKey = operation.Other % _world.Options.DataKeys;
        var other = DataKey(otherKey);
        var found = await _client.GetManyAsync(otherKey == operation.Key ? [name] : [name, other], token).ConfigureAwait(false);
        if (otherKey != operation.Key)
        {
            var (otherVersion, otherHit, otherOutcome) = found.TryGetValue(other, out var o) ? FromCache(o, otherKey) : (_world.Database.Read(otherKey), false, "miss");
            _world.History.Add(new OperationRecord(_frontend, _worker, index, operation.Kind, other, otherKey, start, _world.Now, otherVersion, otherHit, true, false, otherOutcome));
        }

        return found.TryGetValue(name, out var mine) ? FromCache(mine, operation.Key) : (_world.Database.Read(operation.Key), false, "miss");
    }

    private async Task<(long, bool, string)> CacheGetAsync(string name, int dbKey, PlannedOperation operation, CancellationToken token)
    {
        var bytes = await _cache.GetAsync(name, token).ConfigureAwait(false);
        if (bytes is not null && SimulatedDatabase.TryDecode(bytes, out var cached))
        {
            return (cached, true, "hit");
        }

        var version = _world.Database.Read(dbKey);
        if (operation.Other % 2 == 1)
        {
            return (version, false, "miss");
        }

        // Refilled as an application without leases must: under the key's write lock, with the version read there.
        await _world.Database.LockAsync(dbKey).ConfigureAwait(false);
        try
        {
            var current = _world.Database.Read(dbKey);
            await CacheSetAsync(name, current, operation, CancellationToken.None).ConfigureAwait(false);
            return (version, false, "miss, refilled");
        }
        finally
        {
            _world.Database.Unlock(dbKey);
        }
    }
}
