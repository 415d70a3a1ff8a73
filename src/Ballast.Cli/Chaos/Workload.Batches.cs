namespace Ballast.Cli.Chaos;

/// <summary>
/// The batch calls of <see cref="ChaosOptions.ApiMix"/> (<see cref="ChaosOptions.BatchRatio"/>): <c>GetManyAsync</c>,
/// <c>DeleteManyAsync</c> and <c>SetManyAsync</c> of 2 to 5 keys, each key's read or write recorded on its own, so the
/// stale-read check judges every value a get-many returned and every invalidation a delete-many made.
/// </summary>
public sealed partial class Workload
{
    private const int MaxBatchKeys = 5;

    /// <summary>One batch call: a get-many (the read share), else a delete-many or a set-many; false when cancelled.</summary>
    private Task<bool> BatchAsync(Random random, HistoryRecorder.WorkerLog log, CancellationToken ct)
    {
        var wanted = random.Next(2, MaxBatchKeys + 1);
        var keys = new SortedSet<int>();
        for (var draw = 0; draw < 4 * MaxBatchKeys && keys.Count < wanted; draw++)
        {
            keys.Add(_keys.Next(random));
        }

        if (random.NextDouble() < _options.ReadRatio)
        {
            return BatchGetAsync([.. keys], log, ct);
        }

        // Stores are made only where every writer holds the keys' locks (no PHP frontends, whose writes take none).
        return BatchWriteAsync([.. keys], storing: _writeLocks is not null && random.Next(2) == 0, random, log, ct);
    }

    /// <summary>A get-many; a miss (or an error) reads the database and refills nothing, as with a single get-many.</summary>
    private async Task<bool> BatchGetAsync(int[] keys, HistoryRecorder.WorkerLog log, CancellationToken ct)
    {
        var start = _clock.NowMs;
        IReadOnlyDictionary<string, GetResult>? found = null;
        try
        {
            found = await _client.GetManyAsync(keys.Select(VersionedDatabase.CacheKey), ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return false;
        }
#pragma warning disable CA1031 // As an application would: count the error and fall back to the database.
        catch (Exception e)
#pragma warning restore CA1031
        {
            log.AppError(e);
        }

        var end = _clock.NowMs;
        foreach (var key in keys)
        {
            var name = VersionedDatabase.CacheKey(key);
            var hit = found is not null && found.TryGetValue(name, out var result) && Decode(result.Value, name, log, out var version)
                ? (Version: version, Hit: true)
                : (Version: _db.Read(key), Hit: false);
            log.Read(new ReadRecord(_frontend, key, hit.Version, start, end, hit.Hit, ReadPaths.BatchGet));
        }

        return true;
    }

    /// <summary>
    /// A write of several keys: a new version of each in the database, then one delete-many, or one set-many of the new
    /// versions (<paramref name="storing"/>; whatever a key's outcome, its write completed when the call returned: a
    /// store that did not land has invalidated its key).
    /// </summary>
    private async Task<bool> BatchWriteAsync(int[] keys, bool storing, Random random, HistoryRecorder.WorkerLog log, CancellationToken ct)
    {
        using var held = await LockWritesAsync(keys, ct).ConfigureAwait(false);
        if (held is null)
        {
            return false;
        }

        var start = _clock.NowMs;
        var writes = keys.Select(key => new WriteRecord(_frontend, key, _db.Write(key), start, 0, false)).ToArray();
        using var caller = CallerToken(random, ct);
        return await RecordWritesAsync(log, _clock, writes, async () =>
        {
            if (storing)
            {
                await _client.SetManyAsync(writes.Select(w => KeyValuePair.Create(VersionedDatabase.CacheKey(w.Key), (ReadOnlyMemory<byte>)VersionedDatabase.Encode(w.Version))), cancellationToken: caller.Token).ConfigureAwait(false);
            }
            else
            {
                await _client.DeleteManyAsync(keys.Select(VersionedDatabase.CacheKey), caller.Token).ConfigureAwait(false);
            }
        }, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Takes the write locks of <paramref name="keys"/> (ascending, as every writer takes them) when the run has them;
    /// dispose the result to release them. Null when the run was cancelled while waiting (nothing was written).
    /// </summary>
    private async Task<HeldLocks?> LockWritesAsync(int[] keys, CancellationToken ct)
    {
        var held = new HeldLocks();
        if (_writeLocks is null)
        {
            return held;
        }

        try
        {
            foreach (var key in keys)
            {
                held.Add(await _writeLocks.EnterAsync(key, ct).ConfigureAwait(false));
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            held.Dispose();
            return null;
        }

        return held;
    }

    /// <summary>The write locks one write holds, released together.</summary>
    private sealed class HeldLocks : IDisposable
    {
        private readonly List<KeyLocks.Held> _held = [];

        public void Add(KeyLocks.Held held) => _held.Add(held);

        public void Dispose()
        {
            foreach (var held in _held)
            {
                held.Dispose();
            }

            _held.Clear();
        }
    }
}
