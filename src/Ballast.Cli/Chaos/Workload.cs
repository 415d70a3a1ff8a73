namespace Ballast.Cli.Chaos;

/// <summary>
/// The cache-aside application of one frontend: W workers that read (cache, then database and a leased refill on a
/// miss) and write (database, then delete), recording every operation. Each loop stops by itself at the deadline.
/// </summary>
public sealed class Workload
{
    private readonly int _frontend;
    private readonly MemcachedClient _client;
    private readonly VersionedDatabase _db;
    private readonly HistoryRecorder _history;
    private readonly ZipfSampler _keys;
    private readonly RunClock _clock;
    private readonly ChaosOptions _options;

    /// <summary>Creates the workload of frontend <paramref name="frontend"/>.</summary>
    public Workload(int frontend, MemcachedClient client, VersionedDatabase db, HistoryRecorder history, ZipfSampler keys, RunClock clock, ChaosOptions options)
    {
        _frontend = frontend;
        _client = client;
        _db = db;
        _history = history;
        _keys = keys;
        _clock = clock;
        _options = options;
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
    private async Task<bool> RecordReadAsync(int key, HistoryRecorder.WorkerLog log, CancellationToken ct, Func<string, Task<(long Version, bool Hit)?>> read)
    {
        var name = VersionedDatabase.CacheKey(key);
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

        log.Read(new ReadRecord(_frontend, key, version, start, _clock.NowMs, hit));
        return true;
    }

    /// <summary>One cache-aside read (with get-and-touch when <paramref name="touching"/>); false when cancelled.</summary>
    private Task<bool> ReadAsync(int key, Random random, HistoryRecorder.WorkerLog log, CancellationToken ct, bool touching)
        => RecordReadAsync(key, log, ct, async name =>
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
        => RecordReadAsync(key, log, ct, async name =>
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
                            var text = await _client.GetOrCreateAsync(name, _ =>
                            {
                                created = true;
                                return ValueTask.FromResult(VersionedDatabase.Text(_db.Read(key)));
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
        var name = VersionedDatabase.CacheKey(key);
        var start = _clock.NowMs;
        var version = _db.Write(key);
        var failed = false;
        using var caller = CallerToken(random, ct);
        try
        {
            if (_options.ApiMix && random.Next(2) == 1)
            {
                // Mark-stale invalidates like a delete (confirmed or fenced): the old value stays, but no read serves it.
                await _client.MarkStaleAsync(name, TouchTimeToLive, caller.Token).ConfigureAwait(false);
            }
            else
            {
                await _client.DeleteAsync(name, caller.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // The caller gave up (an aborted request): its call returned now, and the bound counts from here.
            log.CallCancelled();
            failed = true;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The delete never returned to the application: the write never completed.
            log.Write(new WriteRecord(_frontend, key, version, start, double.PositiveInfinity, Failed: true));
            return false;
        }
#pragma warning disable CA1031 // A delete that throws still completes the write, by the stale-read definition.
        catch (Exception e)
#pragma warning restore CA1031
        {
            log.AppError(e);
            failed = true;
        }

        log.Write(new WriteRecord(_frontend, key, version, start, _clock.NowMs, failed));
        return true;
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
