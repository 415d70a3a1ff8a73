using System.Collections.Concurrent;
using System.Text;
using Ballast.Pool;
using Ballast.Protocol;
using Ballast.SharedView;
using Ballast.Cli;
using Ballast.Tests.Cli;
using Ballast.Tests.Extensions;
using Ballast.Tests.FaultInjection;
using Ballast.Tests.Integrity;
using Ballast.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Ballast.Tests.SharedView;

/// <summary>
/// The shared view's seal (<see cref="SharedViewOptions.Secret"/>): a record or lock that anyone without the secret
/// wrote, or that was copied from another key or another pool, is no record (its server is treated as lost and flushed
/// before it is read) and no lock of this frontend's. The control shows what a forged "up" record does without a secret.
/// </summary>
public sealed class ViewRecordSealTests
{
    private const string Secret = "correct horse battery staple";

    private static readonly byte[] SecretBytes = Encoding.UTF8.GetBytes(Secret);

    [Fact]
    public void A_sealed_record_opens_only_under_its_own_key_pool_and_secret_and_unaltered()
    {
        var seal = new ViewRecordSeal(SecretBytes, "shop");
        var entry = new ViewEntry(7, true, 1733000000000, "0badf00d");
        var value = seal.Encode("ballast:shop:view:0", entry);

        Assert.True(seal.TryDecode("ballast:shop:view:0", value, out var opened));
        Assert.Equal(entry, opened);
        Assert.Matches("^7 D 1733000000000 0badf00d [0-9a-f]{64}$", Encoding.ASCII.GetString(value));
        Assert.False(seal.TryDecode("ballast:shop:view:1", value, out _));
        Assert.False(new ViewRecordSeal(SecretBytes, "other").TryDecode("ballast:shop:view:0", value, out _));
        Assert.False(new ViewRecordSeal(Encoding.UTF8.GetBytes("another secret, long enough"), "shop").TryDecode("ballast:shop:view:0", value, out _));
        Assert.False(seal.TryDecode("ballast:shop:view:0", entry.Encode(), out _));
        var altered = (byte[])value.Clone();
        altered[0] = (byte)'8';
        Assert.False(seal.TryDecode("ballast:shop:view:0", altered, out _));
        Assert.False(seal.TryDecode("ballast:shop:view:0", value.AsSpan(0, value.Length - 1), out _));

        // Without a secret, values pass as they are, and a sealed one is no record (five fields).
        Assert.True(ViewRecordSeal.None.TryDecode("ballast:shop:view:0", entry.Encode(), out _));
        Assert.False(ViewRecordSeal.None.TryDecode("ballast:shop:view:0", value, out _));
    }

    [Fact]
    public void A_secret_shorter_than_16_bytes_or_given_twice_is_refused_without_showing_it()
    {
        var options = MemcachedClientOptions.ForServers("127.0.0.1:1");
        options.SharedView.Secret = "short-s3cret";
        var error = Assert.Throws<ArgumentException>(() => new MemcachedClient(options));
        Assert.Contains("16 bytes", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("short-s3cret", error.ToString(), StringComparison.Ordinal);

        options.SharedView.Secret = Secret;
        options.SharedView.SecretFile = "/nonexistent";
        Assert.Throws<ArgumentException>(() => new MemcachedClient(options));
    }

    [Fact]
    public async Task A_secret_file_named_in_configuration_seals_the_records_the_client_writes()
    {
        await using var servers = await MemcachedServers.StartAsync(1);
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, Secret + "\n");
            using var host = BallastHost.Standard(servers, ("Ballast:SharedView:SecretFile", file));
            await host.StartAsync();
            var client = host.Services.GetRequiredService<MemcachedClient>();
            Assert.True((await client.SetAsync("sealed-by-configuration", "v")).IsStored);

            using var raw = await TextClient.ConnectAsync(servers[0].Host, servers[0].Port);
            var record = await raw.RequestAsync($"get ballast:{client.PoolName}:view:0\r\n");
            Assert.StartsWith("VALUE ", record, StringComparison.Ordinal);
            var value = await raw.ReadLineAsync();
            Assert.True(new ViewRecordSeal(SecretBytes, client.PoolName).TryDecode($"ballast:{client.PoolName}:view:0", Encoding.ASCII.GetBytes(value!), out _), value);
            await host.StopAsync();
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task The_cli_seals_with_the_secret_file_it_is_given_and_refuses_a_short_secret()
    {
        await using var servers = await MemcachedServers.StartAsync(1);
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, Secret + "\n");
            // The one-shot commands never write the view; `view init` writes its first records, sealed.
            var init = await CliHarness.RunAsync("--servers", servers[0].EndPoint, "--view-secret-file", file, "view", "init");
            Assert.True(init.ExitCode == ExitCodes.Success, init.Error);
            var pool = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(servers[0].EndPoint)))[..12].ToLowerInvariant();
            using (var raw = await TextClient.ConnectAsync(servers[0].Host, servers[0].Port))
            {
                Assert.StartsWith("VALUE ", await raw.RequestAsync($"get ballast:{pool}:view:0\r\n"), StringComparison.Ordinal);
                Assert.Matches(" [0-9a-f]{64}$", await raw.ReadLineAsync());
            }

            await File.WriteAllTextAsync(file, "tiny\n");
            CliHarness.AssertOneLineError(await CliHarness.RunAsync("--servers", servers[0].EndPoint, "--view-secret-file", file, "get", "k"), ExitCodes.Usage, "16 bytes");
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task A_lock_value_without_a_valid_seal_is_never_taken_for_this_frontends_own()
    {
        await using var servers = await MemcachedServers.StartAsync(1);
        await using var node = new ServerNode(0, servers.EndPoints.First(), new MemcachedClientOptions(), TimeProvider.System, (_, _, _) => { });
        var seal = new ViewRecordSeal(SecretBytes, "t");
        var key = CacheKey.Create("ballast:t:last_failback:0:3", InvalidKeyHandling.Reject);

        // Someone without the secret writes "aaaa0001 <far future>": the lock as frontend aaaa0001 would have written it.
        using (var raw = await TextClient.ConnectAsync(servers[0].Host, servers[0].Port))
        {
            var forged = $"aaaa0001 {DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds()}";
            Assert.Equal("STORED", await raw.RequestAsync($"set {key.Text} 0 0 {forged.Length}\r\n{forged}\r\n"));
        }

        Assert.False(await ViewLock.TryTakeAsync(node, key, seal, "aaaa0001", TimeSpan.FromSeconds(10), TimeProvider.System, default));

        // Control: without a secret, the same forged value is taken for aaaa0001's own lock.
        var unsealed = CacheKey.Create("ballast:t:last_failback:0:4", InvalidKeyHandling.Reject);
        using (var raw = await TextClient.ConnectAsync(servers[0].Host, servers[0].Port))
        {
            var forged = $"aaaa0001 {DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds()}";
            Assert.Equal("STORED", await raw.RequestAsync($"set {unsealed.Text} 0 0 {forged.Length}\r\n{forged}\r\n"));
        }

        Assert.True(await ViewLock.TryTakeAsync(node, unsealed, ViewRecordSeal.None, "aaaa0001", TimeSpan.FromSeconds(10), TimeProvider.System, default));
    }

    [Theory]
    [InlineData("unsealed")]
    [InlineData("another pool's")]
    [InlineData("another secret's")]
    public async Task With_a_secret_a_forged_up_record_does_not_lift_a_fence(string forgery)
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, frontendCount: 1, configure: o => o.SharedView.Secret = Secret);
        var (key, pool, epoch) = await FenceServerZeroAsync(harness);
        var up = new ViewEntry(epoch + 1, false, 0, "forger");
        var recordKey = $"ballast:{pool}:view:0";
        var value = forgery switch
        {
            "unsealed" => up.Encode(),
            "another pool's" => new ViewRecordSeal(SecretBytes, "another-pool").Encode(recordKey, up),
            _ => new ViewRecordSeal(Encoding.UTF8.GetBytes("not the pool's secret at all"), pool).Encode(recordKey, up),
        };
        await ForgeOnEveryServerAsync(harness, recordKey, value);

        var seen = await ReadWithNewFrontendAsync(harness, key, Secret);

        Assert.DoesNotContain("v1", seen.Values);
        Assert.True(seen.UpAgain, "the new frontend never readmitted the server (after its flush)");
    }

    [Fact]
    public async Task Control_without_a_secret_a_forged_up_record_lifts_the_fence_and_the_deleted_value_is_read()
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, frontendCount: 1);
        var (key, pool, epoch) = await FenceServerZeroAsync(harness);
        var recordKey = $"ballast:{pool}:view:0";
        await ForgeOnEveryServerAsync(harness, recordKey, new ViewEntry(epoch + 1, false, 0, "forger").Encode());

        var seen = await ReadWithNewFrontendAsync(harness, key, secret: null);

        Assert.Contains("v1", seen.Values);
    }

    /// <summary>Caches k (v1) on server 0, cuts it, deletes k so that server 0 is fenced; the frontend then leaves.</summary>
    private static async Task<(string Key, string Pool, long Epoch)> FenceServerZeroAsync(IntegrityHarness harness)
    {
        var key = harness.KeyOn(0, "sealed");
        Assert.Equal(1, await harness.ReadAsync(0, key));
        harness.CutAll(0);
        Assert.Equal(2, await harness.WriteAsync(0, key));
        Assert.True(await harness.WaitForStateAsync(0, ServerState.Down, TimeSpan.FromSeconds(5)));
        var pool = harness.Frontends[0].PoolName;
        var epoch = harness.Frontends[0].ViewEpochOf(harness.EndPoint(0));
        await harness.Frontends[0].DisposeAsync();
        harness.HealAll(0);
        return (key, pool, epoch);
    }

    private static async Task ForgeOnEveryServerAsync(IntegrityHarness harness, string recordKey, byte[] value)
    {
        for (var s = 0; s < 3; s++)
        {
            using var raw = await TextClient.ConnectAsync(harness.Server(s).Host, harness.Server(s).Port);
            Assert.Equal("STORED", await raw.RequestAsync($"set {recordKey} 0 0 {value.Length}\r\n{Encoding.ASCII.GetString(value)}\r\n"));
        }
    }

    /// <summary>A frontend that starts after the forgery, straight to the servers, reading k for 4 s.</summary>
    private static async Task<(ConcurrentBag<string?> Values, bool UpAgain)> ReadWithNewFrontendAsync(IntegrityHarness harness, string key, string? secret)
    {
        var options = new MemcachedClientOptions { OperationTimeout = TimeSpan.FromMilliseconds(300), ConnectTimeout = TimeSpan.FromMilliseconds(300) };
        for (var s = 0; s < 3; s++)
        {
            options.Servers.Add(harness.EndPoint(s));
        }

        options.SharedView.Secret = secret;
        options.FailureDetection.ProbeInterval = TimeSpan.FromMilliseconds(50);
        options.FailureDetection.MaxProbeInterval = TimeSpan.FromMilliseconds(200);
        options.Failback.MinimumDownTime = TimeSpan.FromMilliseconds(300);
        await using var frontend = new MemcachedClient(options);
        var seen = new ConcurrentBag<string?>();
        var upAgain = false;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(4);
        while (DateTime.UtcNow < deadline)
        {
            seen.Add(await frontend.GetStringAsync(key));
            upAgain |= frontend.GetServerState(harness.EndPoint(0)) == ServerState.Up;
            await Task.Delay(5);
        }

        return (seen, upAgain);
    }
}
