using Microsoft.Extensions.Caching.Distributed;

namespace Ballast.Cli.Chaos;

/// <summary>
/// The cache-aside application of one frontend: W workers that read (cache, then database and a leased refill on a
/// miss) and write (database, then delete), recording every operation. Each loop stops by itself at the deadline.
/// </summary>
public sealed partial class Workload
{
    private static readonly DistributedCacheEntryOptions Sliding = new() { SlidingExpiration = TimeSpan.FromMinutes(1) };

    private readonly int _frontend;
    private readonly MemcachedClient _client;
    private readonly VersionedDatabase _db;
    private readonly HistoryRecorder _history;
    private readonly ZipfSampler _keys;
    private readonly RunClock _clock;
    private readonly ChaosOptions _options;
    private readonly DistributedCacheShare? _share;
    private readonly KeyLocks? _writeLocks;

    /// <summary>Creates the workload of frontend <paramref name="frontend"/>.</summary>
    /// <param name="frontend">The frontend's index.</param>
    /// <param name="client">Its client.</param>
    /// <param name="db">The run's database.</param>
    /// <param name="history">Where operations are recorded.</param>
    /// <param name="keys">Draws the workload's keys.</param>
    /// <param name="clock">The run's clock.</param>
    /// <param name="options">The run's options.</param>
    /// <param name="distributedCache">The frontend's <c>IDistributedCache</c> share (<see cref="ChaosOptions.DistributedCacheRatio"/>); null for none.</param>
    /// <param name="writeLocks">
    /// The run's key locks when the batch calls may store values (<c>SetManyAsync</c>): every write then holds its keys'
    /// locks across the database and the cache call, so stores land in the database's order. Null: writes take none.
    /// </param>
    public Workload(int frontend, MemcachedClient client, VersionedDatabase db, HistoryRecorder history, ZipfSampler keys, RunClock clock, ChaosOptions options, DistributedCacheShare? distributedCache = null, KeyLocks? writeLocks = null)
    {
        _writeLocks = writeLocks;
        _frontend = frontend;
        _client = client;
        _db = db;
        _history = history;
        _keys = keys;
        _clock = clock;
        _options = options;
        _share = distributedCache;
    }

    /// <summary>Runs the workers until the run's duration has passed or <paramref name="ct"/> is cancelled.</summary>
    public Task RunAsync(CancellationToken ct)
        => Task.WhenAll(Enumerable.Range(0, _options.WorkersPerFrontend).Select(w => Task.Run(() => WorkerAsync(w, ct), CancellationToken.None)));

    private async Task WorkerAsync(int worker, CancellationToken ct)
    {
        var log = _history.NewWorker();
        var random = new Random(HashCode.Combine(_options.Seed, _frontend, worker));

        // Reused for this worker's reads into a buffer, as an application would reuse one.
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(64);
        while (!ct.IsCancellationRequested && _clock.Elapsed < _options.Duration)
        {
            var key = _keys.Next(random);
            var done = random.NextDouble() switch
            {
                var p when p < _options.CounterRatio => await CountAsync(key % Counters, log, ct).ConfigureAwait(false),
                var p when p < _options.CounterRatio + _options.DistributedCacheRatio && _share is not null => await DistributedCacheAsync(key, random, log, ct).ConfigureAwait(false),
                var p when _options.ApiMix && p < _options.CounterRatio + _options.DistributedCacheRatio + _options.BatchRatio => await BatchAsync(random, log, ct).ConfigureAwait(false),
                _ when random.NextDouble() < _options.ReadRatio => _options.ApiMix && random.Next(5) is var api and > 1
                    ? await ReadThroughAsync((ReadApi)api, key, random, buffer, log, ct).ConfigureAwait(false)
                    : await ReadAsync(key, random, log, ct, touching: _options.ApiMix ? random.Next(2) == 1 : random.NextDouble() < _options.TouchRatio).ConfigureAwait(false),
                _ => await WriteAsync(key, random, log, ct).ConfigureAwait(false),
            };
            if (!done)
            {
                return;
            }

            if (_options.ThinkTime > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(_options.ThinkTime, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>How many counters the counter share of the workload spreads over.</summary>
    public const int Counters = 4;

    /// <summary>The cache key of counter <paramref name="counter"/>.</summary>
    public static string CounterKey(int counter) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"chaos:counter:{counter}");

    /// <summary>
    /// Runs one read and records it: the version it returned (from the cache, or from the database on a miss or an
    /// error, as an application falls back) and whether it hit. False when the run is cancelled.
    /// </summary>
    private Task<bool> RecordReadAsync(int key, string path, HistoryRecorder.WorkerLog log, CancellationToken ct, Func<string, Task<(long Version, bool Hit)?>> read)
        => RecordReadAsync(key, VersionedDatabase.CacheKey(key), path, log, ct, read);

    /// <summary>The same for key index <paramref name="key"/> under the cache key <paramref name="name"/>.</summary>
    private async Task<bool> RecordReadAsync(int key, string name, string path, HistoryRecorder.WorkerLog log, CancellationToken ct, Func<string, Task<(long Version, bool Hit)?>> read)
    {
        var start = _clock.NowMs;
        long version;
        bool hit;
        try
        {
            if (await read(name).ConfigureAwait(false) is not { } outcome)
            {
                // The caller gave up before anything was read.
                return true;
            }

            (version, hit) = outcome;
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
            version = _db.Read(key);
            hit = false;
        }

        log.Read(new ReadRecord(_frontend, key, version, start, _clock.NowMs, hit, path));
        return true;
    }

    /// <summary>One cache-aside read (with get-and-touch when <paramref name="touching"/>); false when cancelled.</summary>
    private Task<bool> ReadAsync(int key, Random random, HistoryRecorder.WorkerLog log, CancellationToken ct, bool touching)
        => RecordReadAsync(key, touching ? ReadPaths.GetAndTouch : ReadPaths.GetForRefill, log, ct, async name =>
        {
            var result = touching
                ? await _client.GetAndTouchAsync(name, TouchTimeToLive, ct).ConfigureAwait(false)
                : await _client.GetForRefillAsync(name, ct).ConfigureAwait(false);
            if (Decode(result.Value, name, log, out var version))
            {
                return (version, true);
            }

            version = _db.Read(key);
            if (result.Lease is { } lease)
            {
                using var caller = CallerToken(random, ct);
                try
                {
                    await _client.RefillAsync(name, VersionedDatabase.Encode(version), lease, cancellationToken: caller.Token).ConfigureAwait(false);
                    if (touching)
                    {
                        await _client.TouchAsync(name, TouchTimeToLive, ct).ConfigureAwait(false);
                    }
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    // The caller gave up on its refill; the refill's fate is the library's to settle.
                    log.CallCancelled();
                }
#pragma warning disable CA1031 // The application sees the exception; the chaos run counts it and goes on.
                catch (Exception e) when (e is not OperationCanceledException)
#pragma warning restore CA1031
                {
                    log.AppError(e);
                }
            }

            return (version, false);
        });

    /// <summary>The read APIs <see cref="ChaosOptions.ApiMix"/> adds to the leased get (0) and get-and-touch (1).</summary>
    private enum ReadApi
    {
        GetMany = 2,
        IntoBuffer = 3,
        GetOrCreate = 4,
    }

    /// <summary>
    /// One read through another API: a get-many of the key and another one, a get into a reused buffer, or
    /// GetOrCreate (which takes the lease and refills itself). The first two hold no lease, so a miss reads the
    /// database without refilling, as an application using them would. False when cancelled.
    /// </summary>
    private Task<bool> ReadThroughAsync(ReadApi api, int key, Random random, System.Buffers.ArrayBufferWriter<byte> buffer, HistoryRecorder.WorkerLog log, CancellationToken ct)
        => RecordReadAsync(key, api switch { ReadApi.GetMany => ReadPaths.GetMany, ReadApi.IntoBuffer => ReadPaths.GetIntoBuffer, _ => ReadPaths.GetOrCreate }, log, ct, async name =>
        {
            long version;
            switch (api)
            {
                case ReadApi.GetMany:
                    var other = VersionedDatabase.CacheKey(_keys.Next(random));
                    var found = await _client.GetManyAsync([name, other], ct).ConfigureAwait(false);
                    return found.TryGetValue(name, out var many) && Decode(many.Value, name, log, out version) ? (version, true) : (_db.Read(key), false);

                case ReadApi.IntoBuffer:
                    buffer.ResetWrittenCount();
                    var into = await _client.GetAsync(name, buffer, ct).ConfigureAwait(false);
                    return into.IsHit && Decode(buffer.WrittenMemory.ToArray(), name, log, out version) ? (version, true) : (_db.Read(key), false);

                default:
                    using (var caller = CallerToken(random, ct))
                    {
                        var created = false;
                        try
                        {
                            var text = await _client.GetOrCreateAsync(name, async factoryToken =>
                            {
                                created = true;
                                var read = _db.Read(key);
                                if (_options.FactoryDelay > TimeSpan.Zero)
                                {
                                    // A slow factory: the database may change before its value is returned and stored.
                                    await Task.Delay(_options.FactoryDelay, factoryToken).ConfigureAwait(false);
                                }

                                return VersionedDatabase.Text(read);
                            }, ChaosJson.Default.String, cancellationToken: caller.Token).ConfigureAwait(false);
                            if (!VersionedDatabase.TryDecode(text, out version))
                            {
                                throw new InvalidDataException($"Key {name}: GetOrCreate returned a value this workload never wrote.");
                            }

                            return (version, !created);
                        }
                        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                        {
                            // The caller gave up; its lease is the library's to give back. Nothing was read.
                            log.CallCancelled();
                            return null;
                        }
                    }
            }
        });

    private static bool Decode(byte[]? value, string name, HistoryRecorder.WorkerLog log, out long version)
    {
        if (VersionedDatabase.TryDecode(value, out version))
        {
            return true;
        }

        if (value is not null)
        {
            log.AppError(new InvalidDataException($"Key {name}: a value this workload never wrote."));
        }

        return false;
    }

    /// <summary>One write: a new version in the database, then the invalidation; false when cancelled.</summary>
    private async Task<bool> WriteAsync(int key, Random random, HistoryRecorder.WorkerLog log, CancellationToken ct)
    {
        using var held = await LockWritesAsync([key], ct).ConfigureAwait(false);
        if (held is null)
        {
            return false;
        }

        var name = VersionedDatabase.CacheKey(key);
        var start = _clock.NowMs;
        var version = _db.Write(key);
        using var caller = CallerToken(random, ct);
        var how = _options.ApiMix ? random.Next(3) : 0;
        return await RecordWriteAsync(log, _clock, new WriteRecord(_frontend, key, version, start, 0, false), async () =>
        {
            switch (how)
            {
                case 1:
                    // Mark-stale invalidates like a delete (confirmed or fenced): the old value stays, but no read serves it.
                    await _client.MarkStaleAsync(name, TouchTimeToLive, caller.Token).ConfigureAwait(false);
                    break;
                case 2:
                    // Write-through with the database's version: under Replicated the newest version wins on every
                    // replica (compared, then compare-and-swap); elsewhere a plain set. A set whose fate is unknown, or
                    // whose caller left, invalidates the key.
                    await _client.SetVersionedAsync(name, VersionedDatabase.Encode(version), version, TouchTimeToLive, caller.Token).ConfigureAwait(false);
                    break;
                default:
                    await _client.DeleteAsync(name, caller.Token).ConfigureAwait(false);
                    break;
            }
        }, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs a write's cache call (<paramref name="invalidate"/>: a delete, a mark, a set) and records the write: completed
    /// when the call returned or threw, or when its caller gave up (an aborted request: the bound counts from then);
    /// never completed when the run itself was cancelled first. False then.
    /// </summary>
    /// <param name="log">Where the write is recorded.</param>
    /// <param name="clock">The run's clock.</param>
    /// <param name="write">The write as it began (its end and failure are filled in here).</param>
    /// <param name="invalidate">The cache call.</param>
    /// <param name="ct">The run's token.</param>
    internal static Task<bool> RecordWriteAsync(HistoryRecorder.WorkerLog log, RunClock clock, WriteRecord write, Func<Task> invalidate, CancellationToken ct)
        => RecordWritesAsync(log, clock, [write], invalidate, ct);

    /// <summary>The same for the writes of several keys made by one cache call (a batch), each recorded on its own.</summary>
    internal static async Task<bool> RecordWritesAsync(HistoryRecorder.WorkerLog log, RunClock clock, IReadOnlyList<WriteRecord> writes, Func<Task> invalidate, CancellationToken ct)
    {
        var failed = false;
        try
        {
            await invalidate().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // The caller gave up (an aborted request): its call returned now, and the bound counts from here.
            log.CallCancelled();
            failed = true;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The call never returned to the application: the write never completed.
            foreach (var write in writes)
            {
                log.Write(write with { EndMs = double.PositiveInfinity, Failed = true });
            }

            return false;
        }
#pragma warning disable CA1031 // A write whose cache call throws still completes, by the stale-read definition.
        catch (Exception e)
#pragma warning restore CA1031
        {
            log.AppError(e);
            failed = true;
        }

        var end = clock.NowMs;
        foreach (var write in writes)
        {
            log.Write(write with { EndMs = end, Failed = failed });
        }

        return true;
    }

    /// <summary>
    /// One operation through <c>IDistributedCache</c> on the distributed-cache twin of <paramref name="workloadKey"/>: a read
    /// (now and then after a refresh, which renews the sliding entry), refilled with a set on a miss; or a write, the
    /// database and then a set of the new value or a remove. A refill and a write hold the key's lock across the
    /// database and the cache call, so the sets land in the database's order. False when cancelled.
    /// </summary>
    private async Task<bool> DistributedCacheAsync(int workloadKey, Random random, HistoryRecorder.WorkerLog log, CancellationToken ct)
    {
        var (cache, locks, keys) = _share!;
        var key = keys.DistributedCacheKey(workloadKey);
        var name = keys.Name(key);
        if (random.NextDouble() < _options.ReadRatio)
        {
            var refresh = random.Next(5) == 0;
            return await RecordReadAsync(key, name, ReadPaths.DistributedCache, log, ct, async _ =>
            {
                if (refresh)
                {
                    await cache.RefreshAsync(name, ct).ConfigureAwait(false);
                }

                if (Decode(await cache.GetAsync(name, ct).ConfigureAwait(false), name, log, out var version))
                {
                    return (version, true);
                }

                using (await locks.EnterAsync(key, ct).ConfigureAwait(false))
                {
                    version = _db.Read(key);
                    using var caller = CallerToken(random, ct);
                    try
                    {
                        await cache.SetAsync(name, VersionedDatabase.Encode(version), Sliding, caller.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                    {
                        // The caller gave up on its refill (an aborted request); a store that lands late is the library's to settle.
                        log.CallCancelled();
                    }
                    catch (MemcachedException e)
                    {
                        // A refill that fails costs a later miss; the application goes on with what it read.
                        log.AppError(e);
                    }
                }

                return (version, false);
            }).ConfigureAwait(false);
        }

        var start = _clock.NowMs;
        try
        {
            using (await locks.EnterAsync(key, ct).ConfigureAwait(false))
            {
                var written = _db.Write(key);
                var setting = random.Next(2) == 0;

                // --cancel-ratio reaches sets as well as removes: a set whose caller left may still land, and must then not outlive a newer write.
                using var caller = CallerToken(random, ct);
                return await RecordWriteAsync(log, _clock, new WriteRecord(_frontend, key, written, start, 0, false), () => setting
                    ? cache.SetAsync(name, VersionedDatabase.Encode(written), Sliding, caller.Token)
                    : cache.RemoveAsync(name, caller.Token), ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Cancelled while waiting for the key's lock: nothing was written.
            return false;
        }
    }

    /// <summary>One increment of a counter, recorded with the value it handed out; false when cancelled.</summary>
    private async Task<bool> CountAsync(int counter, HistoryRecorder.WorkerLog log, CancellationToken ct)
    {
        if (_client.Policy == FailoverPolicy.Replicated)
        {
            // Refused by design (NotSupportedException, tested): replicated copies cannot be counted on.
            return true;
        }

        try
        {
            var result = await _client.IncrementAsync(CounterKey(counter), 1, initial: 1, cancellationToken: ct).ConfigureAwait(false);
            if (result.Found)
            {
                log.Counter(new CounterRecord(_frontend, counter, result.Value, _clock.NowMs));
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return false;
        }
#pragma warning disable CA1031 // As an application would: a counter that cannot be had now is an error, not a duplicate.
        catch (Exception e)
#pragma warning restore CA1031
        {
            log.AppError(e);
        }

        return true;
    }

    /// <summary>
    /// The token a call is made with: the run's, or for a share of calls (<see cref="ChaosOptions.CancelRatio"/>) one
    /// that also fires 0-40 ms in, as an aborted HTTP request's does.
    /// </summary>
    private CancellationTokenSource CallerToken(Random random, CancellationToken ct)
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (random.NextDouble() < _options.CancelRatio)
        {
            source.CancelAfter(random.Next(0, 41));
        }

        return source;
    }

    private static readonly TimeSpan TouchTimeToLive = TimeSpan.FromMinutes(5);
}
