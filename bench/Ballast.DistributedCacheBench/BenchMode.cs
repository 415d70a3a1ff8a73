using Microsoft.Extensions.Caching.Distributed;

namespace Ballast.DistributedCacheBench;

/// <summary>One measured path through <see cref="IDistributedCache"/>: what each call does and how its keys were stored.</summary>
internal sealed record BenchMode(string Name, string Description, BenchOperation Operation, bool Sliding)
{
    public static IReadOnlyList<BenchMode> All { get; } =
    [
        new("get", "get (hit), absolute expiration: the path HybridCache's byte[] callers take", BenchOperation.Get, Sliding: false),
        new("get-buffer", "TryGetAsync into an IBufferWriter (hit), absolute expiration: the path HybridCache takes", BenchOperation.GetIntoBuffer, Sliding: false),
        new("sliding-get", "get (hit), sliding expiration: the path ASP.NET sessions take (renews the entry)", BenchOperation.Get, Sliding: true),
        new("set", "set, absolute expiration", BenchOperation.Set, Sliding: false),
        new("sliding-set", "set, sliding expiration", BenchOperation.Set, Sliding: true),
        new("refresh", "refresh of a sliding entry (renews it, returns nothing)", BenchOperation.Refresh, Sliding: true),
    ];

    /// <summary>The entry options of this mode's writes: a window or deadline far beyond the run.</summary>
    public DistributedCacheEntryOptions EntryOptions => Sliding
        ? new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(10) }
        : new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromMinutes(10) };
}

/// <summary>The call a mode makes.</summary>
internal enum BenchOperation
{
    Get,
    GetIntoBuffer,
    Set,
    Refresh,
}
