namespace Ballast.Simulation.Workload;

/// <summary>
/// The endless stream of one worker's operations, drawn from a generator of its own (seeded from the world's seed and
/// the worker), so that dropping an operation while shrinking leaves every other one as it was.
/// </summary>
internal sealed class OperationSource
{
    private readonly Random _random;
    private readonly SimulationOptions _options;
    private readonly (OperationKind Kind, int Weight)[] _mix;
    private readonly int _totalWeight;

    public OperationSource(int seed, SimulationOptions options)
    {
        _random = new Random(seed);
        _options = options;
        var replicated = options.Policy == FailoverPolicy.Replicated;
        _mix =
        [
            (OperationKind.Get, 8),
            (OperationKind.LeasedGet, 18),
            (OperationKind.GetOrCreate, 16),
            (OperationKind.GetMany, 5),
            (OperationKind.GetAndTouch, 5),
            (OperationKind.Touch, 2),
            (OperationKind.Delete, 12),
            (OperationKind.MarkStale, 5),
            (OperationKind.Set, 4),
            (OperationKind.Increment, replicated ? 0 : 10),
            (OperationKind.CacheGet, 7),
            (OperationKind.CacheSet, 4),
            (OperationKind.CacheRefresh, 2),
            (OperationKind.CacheRemove, 3),
        ];
        _totalWeight = _mix.Sum(m => m.Weight);
    }

    public PlannedOperation Next()
    {
        var pick = _random.Next(_totalWeight);
        var kind = _mix[0].Kind;
        foreach (var (k, weight) in _mix)
        {
            if (pick < weight)
            {
                kind = k;
                break;
            }

            pick -= weight;
        }

        var keys = kind switch
        {
            OperationKind.Increment => _options.CounterKeys,
            OperationKind.CacheGet or OperationKind.CacheSet or OperationKind.CacheRefresh or OperationKind.CacheRemove => _options.DistributedCacheKeys,
            _ => _options.DataKeys,
        };

        // Skewed towards the first keys, so that operations meet on them.
        var key = Math.Min(keys - 1, (int)(keys * _random.NextDouble() * _random.NextDouble() * 1.6));
        var think = (long)(-Math.Log(1 - _random.NextDouble()) * _options.ThinkTime.Ticks);
        var slow = _random.Next(10) switch
        {
            < 4 => _random.NextInt64(50 * TimeSpan.TicksPerMillisecond),
            < 8 => _random.NextInt64(50, 500) * TimeSpan.TicksPerMillisecond,
            _ => _random.NextInt64(1_000, 3_500) * TimeSpan.TicksPerMillisecond,
        };
        var cancelAfter = _random.Next(10) == 0 ? _random.NextInt64(60 * TimeSpan.TicksPerMillisecond) : -1;
        var ttl = _random.Next(8) switch
        {
            0 => _random.Next(1, 4),
            1 or 2 => 60,
            _ => 0,
        };
        var other = _random.Next(Math.Max(keys, 2));

        // Drawn after everything else, and only when batches are on: with BatchRatio 0 the stream is the one of before.
        if (_options.BatchRatio > 0 && _random.NextDouble() < _options.BatchRatio)
        {
            kind = _random.Next(4) switch
            {
                0 or 1 => OperationKind.BatchGet,
                2 => OperationKind.BatchSet,
                _ => OperationKind.BatchDelete,
            };
            var batchKeys = Math.Min(_options.DataKeys, BatchKeyLimit);
            key = Math.Min(batchKeys - 1, key);
            other = _random.Next(1 << batchKeys) & ~(1 << key);
        }

        return new PlannedOperation(kind, key, think, slow, cancelAfter, ttl, other);
    }

    /// <summary>The keys of a batch call: its key, then those of <paramref name="operation"/>'s mask, in ascending order.</summary>
    public static int[] BatchKeys(PlannedOperation operation)
        => [.. Enumerable.Range(0, BatchKeyLimit).Where(k => k == operation.Key || (operation.Other & (1 << k)) != 0)];

    /// <summary>Batch calls take their keys among the first data keys only (a mask of one int).</summary>
    private const int BatchKeyLimit = 16;
}
