using System.Buffers;
using Microsoft.Extensions.Caching.Distributed;

namespace Ballast.Tests.Extensions;

/// <summary>Counts every call HybridCache makes on its second level, then passes it on.</summary>
internal class CountingCache(IDistributedCache tail) : IDistributedCache
{
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    protected IDistributedCache Tail => tail;

    public byte[]? Get(string key) => Count(() => tail.Get(key));

    public Task<byte[]?> GetAsync(string key, CancellationToken token = default) => Count(() => tail.GetAsync(key, token));

    public void Refresh(string key) => Count(() => tail.Refresh(key));

    public Task RefreshAsync(string key, CancellationToken token = default) => Count(() => tail.RefreshAsync(key, token));

    public void Remove(string key) => Count(() => tail.Remove(key));

    public Task RemoveAsync(string key, CancellationToken token = default) => Count(() => tail.RemoveAsync(key, token));

    public void Set(string key, byte[] value, DistributedCacheEntryOptions options) => Count(() => tail.Set(key, value, options));

    public Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default) => Count(() => tail.SetAsync(key, value, options, token));

    protected T Count<T>(Func<T> call)
    {
        Interlocked.Increment(ref _calls);
        return call();
    }

    protected void Count(Action call)
    {
        Interlocked.Increment(ref _calls);
        call();
    }
}

/// <summary>The counter for an <see cref="IBufferDistributedCache"/> tail: HybridCache then uses the buffer calls.</summary>
internal sealed class CountingBufferCache(IDistributedCache tail) : CountingCache(tail), IBufferDistributedCache
{
    public bool TryGet(string key, IBufferWriter<byte> destination)
        => Count(() => Tail is IBufferDistributedCache b ? b.TryGet(key, destination) : CopyInto(Tail.Get(key), destination));

    public ValueTask<bool> TryGetAsync(string key, IBufferWriter<byte> destination, CancellationToken token = default)
        => Count(() => Tail is IBufferDistributedCache b ? b.TryGetAsync(key, destination, token) : new ValueTask<bool>(CopyInto(Tail.Get(key), destination)));

    public void Set(string key, ReadOnlySequence<byte> value, DistributedCacheEntryOptions options)
        => Count(() =>
        {
            if (Tail is IBufferDistributedCache b)
            {
                b.Set(key, value, options);
            }
            else
            {
                Tail.Set(key, value.ToArray(), options);
            }
        });

    public ValueTask SetAsync(string key, ReadOnlySequence<byte> value, DistributedCacheEntryOptions options, CancellationToken token = default)
        => Count(() => Tail is IBufferDistributedCache b ? b.SetAsync(key, value, options, token) : new ValueTask(Tail.SetAsync(key, value.ToArray(), options, token)));

    private static bool CopyInto(byte[]? value, IBufferWriter<byte> destination)
    {
        if (value is null)
        {
            return false;
        }

        destination.Write(value);
        return true;
    }
}
