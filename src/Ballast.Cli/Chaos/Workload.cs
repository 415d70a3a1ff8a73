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
        while (!ct.IsCancellationRequested && _clock.Elapsed < _options.Duration)
        {
            var key = _keys.Next(random);
            var done = random.NextDouble() < _options.ReadRatio ? await ReadAsync(key, log, ct).ConfigureAwait(false) : await WriteAsync(key, log, ct).ConfigureAwait(false);
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

    /// <summary>One cache-aside read; false when cancelled.</summary>
    private async Task<bool> ReadAsync(int key, HistoryRecorder.WorkerLog log, CancellationToken ct)
    {
        var name = VersionedDatabase.CacheKey(key);
        var start = _clock.NowMs;
        long version;
        var hit = false;
        try
        {
            var result = await _client.GetForRefillAsync(name, ct).ConfigureAwait(false);
            if (result.IsHit && VersionedDatabase.TryDecode(result.Value, out version))
            {
                hit = true;
            }
            else
            {
                if (result.IsHit)
                {
                    log.AppError(new InvalidDataException($"Key {name}: a value this workload never wrote."));
                }

                version = _db.Read(key);
                if (result.Lease is { } lease)
                {
                    try
                    {
                        await _client.RefillAsync(name, VersionedDatabase.Encode(version), lease, cancellationToken: ct).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (ct.IsCancellationRequested)
                    {
                        return false;
                    }
#pragma warning disable CA1031 // The application sees the exception; the chaos run counts it and goes on.
                    catch (Exception e)
#pragma warning restore CA1031
                    {
                        log.AppError(e);
                    }
                }
            }
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
        }

        log.Read(new ReadRecord(_frontend, key, version, start, _clock.NowMs, hit));
        return true;
    }

    /// <summary>One write: a new version in the database, then the invalidation; false when cancelled.</summary>
    private async Task<bool> WriteAsync(int key, HistoryRecorder.WorkerLog log, CancellationToken ct)
    {
        var name = VersionedDatabase.CacheKey(key);
        var start = _clock.NowMs;
        var version = _db.Write(key);
        var failed = false;
        try
        {
            await _client.DeleteAsync(name, ct).ConfigureAwait(false);
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
}
