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
            var done = random.NextDouble() switch
            {
                var p when p < _options.CounterRatio => await CountAsync(key % Counters, log, ct).ConfigureAwait(false),
                _ when random.NextDouble() < _options.ReadRatio => await ReadAsync(key, random, log, ct).ConfigureAwait(false),
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

    /// <summary>One cache-aside read (with get-and-touch for a share of reads); false when cancelled.</summary>
    private async Task<bool> ReadAsync(int key, Random random, HistoryRecorder.WorkerLog log, CancellationToken ct)
    {
        var name = VersionedDatabase.CacheKey(key);
        var start = _clock.NowMs;
        long version;
        var hit = false;
        var touching = random.NextDouble() < _options.TouchRatio;
        try
        {
            var result = touching
                ? await _client.GetAndTouchAsync(name, TouchTimeToLive, ct).ConfigureAwait(false)
                : await _client.GetForRefillAsync(name, ct).ConfigureAwait(false);
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
                    using var caller = CallerToken(random, ct);
                    try
                    {
                        await _client.RefillAsync(name, VersionedDatabase.Encode(version), lease, cancellationToken: caller.Token).ConfigureAwait(false);
                        if (touching)
                        {
                            await _client.TouchAsync(name, TouchTimeToLive, ct).ConfigureAwait(false);
                        }
                    }
                    catch (OperationCanceledException) when (ct.IsCancellationRequested)
                    {
                        return false;
                    }
                    catch (OperationCanceledException)
                    {
                        // The caller gave up on its refill; the refill's fate is the library's to settle.
                        log.CallCancelled();
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
    private async Task<bool> WriteAsync(int key, Random random, HistoryRecorder.WorkerLog log, CancellationToken ct)
    {
        var name = VersionedDatabase.CacheKey(key);
        var start = _clock.NowMs;
        var version = _db.Write(key);
        var failed = false;
        using var caller = CallerToken(random, ct);
        try
        {
            await _client.DeleteAsync(name, caller.Token).ConfigureAwait(false);
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
