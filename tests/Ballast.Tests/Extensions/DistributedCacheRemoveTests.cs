using Ballast.Extensions;
using Ballast.Tests.Integrity;

namespace Ballast.Tests.Extensions;

/// <summary>
/// IDistributedCache.Remove is a Ballast delete: when it can be neither confirmed nor fenced (no quorum of the view
/// reachable), the application must hear it, as from DeleteAsync, not return as if the entry were gone.
/// </summary>
[Collection(WallClockBoundCollection.Name)]
public sealed class DistributedCacheRemoveTests
{
    [Fact]
    public async Task A_remove_that_can_be_neither_confirmed_nor_fenced_throws()
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, frontendCount: 1);
        var cache = new BallastDistributedCache(harness.Frontends[0], new BallastDistributedCacheOptions());
        var key = harness.KeyOn(0, "session");
        await cache.SetAsync(key, [1, 2, 3], new Microsoft.Extensions.Caching.Distributed.DistributedCacheEntryOptions());

        // The key's server and a second one are cut: the delete cannot land, and no majority is left to fence with.
        harness.Cut(0, 0);
        harness.Cut(0, 1);
        var error = await Assert.ThrowsAsync<InvalidationOwedException>(() => cache.RemoveAsync(key));
        Assert.Contains(harness.EndPoint(0).ToString(), error.Message, StringComparison.Ordinal);
    }
}
