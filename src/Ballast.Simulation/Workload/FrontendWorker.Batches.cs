using Ballast.Simulation.Checking;

namespace Ballast.Simulation.Workload;

/// <summary>
/// The batch calls (<see cref="SimulationOptions.BatchRatio"/>): one call for several data keys, recorded as one read or
/// write per key, so the checker judges each key's outcome by the same rules as a single-key call's.
/// </summary>
internal sealed partial class FrontendWorker
{
    /// <summary><c>GetManyAsync</c>: a hit returns the cached version, a miss or an error the database's (no refill).</summary>
    private async Task BatchGetAsync(PlannedOperation operation, int index, long start, CancellationToken token)
    {
        var keys = OperationSource.BatchKeys(operation);
        IReadOnlyDictionary<string, GetResult>? found = null;
        string? failure = null;
        try
        {
            found = await _client.GetManyAsync(keys.Select(DataKey), token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The caller gave up before it had a value: nothing was read.
            failure = "cancelled";
        }
#pragma warning disable CA1031 // As an application would: an error is a database read.
        catch (Exception error)
#pragma warning restore CA1031
        {
            failure = Describe(error);
        }

        foreach (var key in keys)
        {
            var name = DataKey(key);
            var (version, hit, outcome) = found is null ? (_world.Database.Read(key), false, failure!)
                : found.TryGetValue(name, out var result) ? FromCache(result, key) : (_world.Database.Read(key), false, "miss");
            _world.History.Add(new OperationRecord(_frontend, _worker, index, operation.Kind, name, key, start, _world.Now, version, hit, failure != "cancelled", false, outcome));
        }
    }

    /// <summary>
    /// A write of several keys: each key's write lock (in ascending order, as every writer takes them), a new version of
    /// each in the database, then one <c>SetManyAsync</c> of those versions or one <c>DeleteManyAsync</c>. Each key's
    /// write completed when the call returned, whatever its outcome.
    /// </summary>
    private async Task BatchWriteAsync(PlannedOperation operation, int index, CancellationToken token)
    {
        var keys = OperationSource.BatchKeys(operation);
        foreach (var key in keys)
        {
            await _world.Database.LockAsync(key).ConfigureAwait(false);
        }

        var start = _world.Now;
        var versions = keys.Select(_world.Database.Write).ToArray();
        var outcomes = new string[keys.Length];
        try
        {
            if (operation.Kind == OperationKind.BatchSet)
            {
                var stored = await _client.SetManyAsync(keys.Select((k, i) => KeyValuePair.Create(DataKey(k), (ReadOnlyMemory<byte>)SimulatedDatabase.Encode(versions[i]))), Ttl(operation), token).ConfigureAwait(false);
                for (var i = 0; i < keys.Length; i++)
                {
                    var outcome = stored[DataKey(keys[i])];
                    outcomes[i] = outcome.Error is { } error ? Describe(error) : outcome.Result.Status.ToString();
                }
            }
            else
            {
                var deleted = await _client.DeleteManyAsync(keys.Select(DataKey), token).ConfigureAwait(false);
                for (var i = 0; i < keys.Length; i++)
                {
                    var outcome = deleted[DataKey(keys[i])];
                    outcomes[i] = outcome.Error is { } error ? Describe(error) : outcome.Result.ToString();
                }
            }
        }
#pragma warning disable CA1031 // The application sees the exception; the writes still completed (database first).
        catch (Exception error)
#pragma warning restore CA1031
        {
            Array.Fill(outcomes, Describe(error));
        }
        finally
        {
            foreach (var key in keys)
            {
                _world.Database.Unlock(key);
            }
        }

        for (var i = 0; i < keys.Length; i++)
        {
            _world.History.Add(new OperationRecord(_frontend, _worker, index, operation.Kind, DataKey(keys[i]), keys[i], start, _world.Now, versions[i], false, false, true, outcomes[i]));
        }
    }
}
