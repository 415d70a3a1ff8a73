using System.Diagnostics;
using System.Text.Json.Serialization;
using Ballast.FaultInjection;

namespace Ballast.Tests.Integrity;

/// <summary>
/// Issue 16, breaks 1 and 2: <c>GetOrCreateAsync</c> handing a caller a value read before an invalidation that had
/// completed more than the bound B before the caller began. The factories are held on gates, so the order of the
/// read, the write and the late caller is the test's, never the scheduler's.
/// </summary>
[Collection(WallClockBoundCollection.Name)]
public sealed partial class EdgeOfPromiseGetOrCreateTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [JsonSerializable(typeof(int))]
    internal sealed partial class EdgeJson : JsonSerializerContext;

    /// <summary>
    /// Break 1. Caller X's factory reads v1 and is held; the application writes v2 and deletes (the delete returns
    /// Deleted, or ServerFenced with the key's server reset for the deleting frontend). Caller W on the other frontend
    /// wins the new refill lease and is held too. Caller Y, on X's frontend, begins 1.2 s after the delete returned,
    /// finds no lease for itself, and must not be handed X's v1 when X's factory ends: its value must be v2.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Break1_a_caller_that_began_more_than_B_after_a_delete_is_not_handed_a_run_that_read_before_it(bool serverFenced)
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline);
        var a = harness.Frontends[0];
        var b = harness.Frontends[1];
        var key = harness.KeyOn(0, "edge1");

        var held = new HeldFactory(harness, key);
        var x = a.GetOrCreateAsync(key, held.RunAsync, EdgeJson.Default.Int32).AsTask();
        Assert.Equal(1, await held.Read.WaitAsync(Patience));

        if (serverFenced)
        {
            // The deleting frontend's link to the key's server resets: the delete cannot be confirmed and fences it.
            harness.Proxy(0, 0).SetMode(ProxyFaultMode.Reset);
        }

        Assert.Equal(2, harness.DatabaseVersionAfterWrite(key));
        var status = await a.DeleteAsync(key);
        var sinceDelete = Stopwatch.StartNew();
        Assert.Equal(serverFenced ? DeleteStatus.ServerFenced : DeleteStatus.Deleted, status);

        var heldW = new HeldFactory(harness, key);
        Task<int>? w = null;
        if (!serverFenced)
        {
            // W wins the refill lease the delete made available, and holds it while Y comes.
            w = b.GetOrCreateAsync(key, heldW.RunAsync, EdgeJson.Default.Int32).AsTask();
            Assert.Equal(2, await heldW.Read.WaitAsync(Patience));
        }

        var wait = Bound + TimeSpan.FromMilliseconds(200) - sinceDelete.Elapsed;
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }

        var yBegan = sinceDelete.Elapsed;
        var y = a.GetOrCreateAsync(key, _ => ValueTask.FromResult(harness.DatabaseVersion(key)), EdgeJson.Default.Int32).AsTask();
        await Task.Delay(200);
        held.Release();
        Assert.Equal(1, await x.WaitAsync(Patience));
        heldW.Release();
        var yGot = await y.WaitAsync(Patience);
        var yEnded = sinceDelete.Elapsed;
        if (w is not null)
        {
            Assert.Equal(2, await w.WaitAsync(Patience));
        }

        output.WriteLine($"delete {status}; Y began {yBegan.TotalMilliseconds:0} ms after it returned and got v{yGot} {yEnded.TotalMilliseconds:0} ms after it");
        Assert.True(
            yGot == 2,
            $"Caller Y began {yBegan.TotalMilliseconds:0} ms after the delete returned {status} (the bound is {Bound.TotalMilliseconds:0} ms) and was handed v{yGot}, read before that delete, {yEnded.TotalMilliseconds:0} ms after it: it joined a run that began before the invalidation.");
    }

    /// <summary>
    /// Break 2. The cached value does not deserialize (another application version's JSON), so GetOrCreate calls the
    /// factory without a lease; the factory reads v1 and is held while the application writes v2 and deletes. When
    /// the factory ends, its v1 must not land in the cache: no read beginning more than B after the delete, on either
    /// frontend, may return v1.
    /// </summary>
    [Fact]
    public async Task Break2_a_value_created_after_an_unreadable_hit_does_not_outlive_a_delete_made_while_it_was_created()
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline);
        var a = harness.Frontends[0];
        var key = harness.KeyOn(0, "edge2");
        Assert.Equal(StoreStatus.Stored, (await a.SetAsync(key, "{\"schema\":1,\"legacy\":true}")).Status);

        var held = new HeldFactory(harness, key);
        var x = a.GetOrCreateAsync(key, held.RunAsync, EdgeJson.Default.Int32).AsTask();
        Assert.Equal(1, await held.Read.WaitAsync(Patience));

        Assert.Equal(2, harness.DatabaseVersionAfterWrite(key));
        var status = await harness.Frontends[1].DeleteAsync(key);
        var sinceDelete = Stopwatch.StartNew();
        Assert.Equal(DeleteStatus.Deleted, status);
        held.Release();
        Assert.Equal(1, await x.WaitAsync(Patience));

        // The application reads on, as it would, through GetOrCreate on both frontends, for 3 s after the delete.
        var stale = new List<string>();
        var reads = 0;
        while (sinceDelete.Elapsed < TimeSpan.FromSeconds(3))
        {
            for (var f = 0; f < harness.Frontends.Length; f++)
            {
                var began = sinceDelete.Elapsed;
                var got = await harness.Frontends[f].GetOrCreateAsync(key, _ => ValueTask.FromResult(harness.DatabaseVersion(key)), EdgeJson.Default.Int32);
                if (began > Bound)
                {
                    reads++;
                    if (got < 2)
                    {
                        stale.Add($"frontend {f} read v{got} {began.TotalMilliseconds:0} ms after the delete");
                    }
                }
            }

            await Task.Delay(20);
        }

        output.WriteLine($"{stale.Count} of {reads} reads beyond B returned v1; {string.Join("; ", stale.Take(3))}");
        Assert.True(stale.Count == 0, $"{stale.Count} of {reads} reads that began more than {Bound.TotalMilliseconds:0} ms after the delete returned v1, stored by a factory that read it before the delete: {string.Join("; ", stale.Take(5))}");
    }

    /// <summary>A factory that reads the database, then waits for the test to let it finish: slow for as long as the test says.</summary>
    private sealed class HeldFactory(IntegrityHarness harness, string key)
    {
        private readonly TaskCompletionSource<int> _read = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _go = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The version the factory read, once it has.</summary>
        public Task<int> Read => _read.Task;

        public void Release() => _go.TrySetResult();

        public async ValueTask<int> RunAsync(CancellationToken cancellationToken)
        {
            var version = harness.DatabaseVersion(key);
            _read.TrySetResult(version);
            await _go.Task.WaitAsync(cancellationToken);
            return version;
        }
    }
}
