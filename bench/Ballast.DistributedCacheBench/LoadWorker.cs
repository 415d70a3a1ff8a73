using System.Buffers;
using System.Diagnostics;
using Microsoft.Extensions.Caching.Distributed;

namespace Ballast.DistributedCacheBench;

/// <summary>
/// One caller's loop for one slice: calls the cache until the deadline, counts calls and misses, and samples every
/// 16th call's latency into a fixed ring. The loop allocates nothing of its own per call, so what the run allocates per
/// call is the cache's.
/// </summary>
internal sealed class LoadWorker(int first)
{
    private const int SampleCapacity = 4096;
    private readonly double[] _samples = new double[SampleCapacity];
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private int _next = first;
    private long _sampled;

    public long Calls { get; private set; }

    public long Misses { get; private set; }

    public IEnumerable<double> SampledMicroseconds => _samples.Take((int)Math.Min(_sampled, SampleCapacity));

    public async Task RunAsync(IDistributedCache cache, BenchMode mode, string[] keys, byte[] value, DistributedCacheEntryOptions options, long deadline)
    {
        var buffered = cache as IBufferDistributedCache;
        long calls = 0;
        long misses = 0;
        while (Stopwatch.GetTimestamp() < deadline)
        {
            var key = keys[_next++ % keys.Length];
            var start = Stopwatch.GetTimestamp();
            switch (mode.Operation)
            {
                case BenchOperation.Get:
                    misses += await cache.GetAsync(key).ConfigureAwait(false) is null ? 1 : 0;
                    break;
                case BenchOperation.GetIntoBuffer:
                    _buffer.ResetWrittenCount();
                    misses += await buffered!.TryGetAsync(key, _buffer).ConfigureAwait(false) ? 0 : 1;
                    break;
                case BenchOperation.Set:
                    await cache.SetAsync(key, value, options).ConfigureAwait(false);
                    break;
                case BenchOperation.Refresh:
                    await cache.RefreshAsync(key).ConfigureAwait(false);
                    break;
            }

            if ((calls++ & 15) == 0)
            {
                _samples[_sampled++ % SampleCapacity] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            }
        }

        Calls = calls;
        Misses = misses;
    }
}
