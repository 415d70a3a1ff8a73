using Ballast.FaultInjection;
using Ballast.Tests.Integrity;
using Xunit.Abstractions;

namespace Ballast.Tests.SharedView;

/// <summary>A real etcd on free loopback ports for the tests of the etcd view store; stopped (and its data deleted) after them.</summary>
public sealed class EtcdFixture : IAsyncLifetime
{
    public EtcdProcess Etcd { get; private set; } = null!;

    public async Task InitializeAsync() => Etcd = await EtcdProcess.StartAsync();

    public Task DisposeAsync()
    {
        Etcd?.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>
/// The integrity scenarios S3, S4 and S7 run unchanged with the shared view in etcd (each harness gets its own pool,
/// so records of one test are not another's), and what etcd adds: records that a flush of every memcached server
/// does not erase.
/// </summary>
[Collection(WallClockBoundCollection.Name)]
public sealed class EtcdViewStoreTests : IClassFixture<EtcdFixture>
{
    private readonly EtcdFixture _fixture;
    private readonly ITestOutputHelper _output;

    public EtcdViewStoreTests(EtcdFixture fixture, ITestOutputHelper output)
    {
        _fixture = fixture;
        _output = output;
    }

    [Theory]
    [InlineData(FailoverPolicy.Offline)]
    [InlineData(FailoverPolicy.Gutter)]
    [InlineData(FailoverPolicy.Replicated)]
    public Task S3_on_etcd(FailoverPolicy policy) => OnEtcd(() => new PartialPartitionTests(_output).S3_a_frontend_that_still_reaches_the_server_stops_reading_it_within_the_bound(policy));

    [Theory]
    [InlineData(FailoverPolicy.Offline)]
    [InlineData(FailoverPolicy.Gutter)]
    [InlineData(FailoverPolicy.Replicated)]
    public Task S4_on_etcd(FailoverPolicy policy) => OnEtcd(() => new CoordinatedFailbackTests().S4_exactly_one_frontend_flushes_a_returning_server_and_all_readmit_it_after(policy));

    [Theory]
    [InlineData(FailoverPolicy.Offline)]
    [InlineData(FailoverPolicy.Gutter)]
    [InlineData(FailoverPolicy.Replicated)]
    public Task S7_on_etcd(FailoverPolicy policy) => OnEtcd(() => new TimedOutMutationTests().S7_a_delete_that_times_out_is_confirmed_or_its_server_fenced(policy));

    [Fact]
    public Task S9_on_etcd_a_flush_all_of_the_other_servers_leaves_the_fence_in_etcd() => OnEtcd(async () =>
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, frontendCount: 2);
        var key = harness.KeyOn(0, "s9e");
        Assert.Equal(1, await harness.ReadAsync(1, key));
        harness.CutAll(0);
        Assert.Equal(2, await harness.WriteAsync(0, key));
        Assert.True(await harness.WaitForStateAsync(0, ServerState.Down, TimeSpan.FromSeconds(5)));

        // Nothing in memcached holds the view: flushing the other servers changes nothing, and X stays fenced.
        foreach (var server in new[] { 1, 2 })
        {
            using var raw = await Ballast.Tests.FaultInjection.TextClient.ConnectAsync(harness.Server(server).Host, harness.Server(server).Port);
            Assert.Equal("OK", await raw.RequestAsync("flush_all\r\n"));
        }

        await Task.Delay(500);
        Assert.All(harness.Failures, f => Assert.Equal(harness.EndPoint(0), f.Server));
        Assert.All(harness.Frontends, f => Assert.NotEqual(ServerState.Up, f.GetServerState(harness.EndPoint(0))));

        // X returns with k's old value: it is flushed once, then readmitted, and k's old value is never read.
        var flushesOfX = await harness.FlushCountAsync(0);
        harness.HealAll(0);
        Assert.True(await harness.WaitForStateAsync(0, ServerState.Up, TimeSpan.FromSeconds(10)));
        Assert.Equal(flushesOfX + 1, await harness.FlushCountAsync(0));
        Assert.Equal(2, await harness.ReadAsync(1, key));
    });

    private async Task OnEtcd(Func<Task> scenario)
    {
        var endpoint = _fixture.Etcd.Endpoint;
        var pool = "etcd-" + Guid.NewGuid().ToString("N")[..12];
        IntegrityHarness.AmbientConfigure.Value = options =>
        {
            options.SharedView.UseEtcdView([endpoint]);
            options.SharedView.PoolName = pool;
        };
        try
        {
            await scenario();
        }
        finally
        {
            IntegrityHarness.AmbientConfigure.Value = null;
        }
    }
}
