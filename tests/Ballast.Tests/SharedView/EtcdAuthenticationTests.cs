using Ballast.FaultInjection;
using Ballast.Tests.Integrity;
using Ballast.Tests.Support;
using Etcdserverpb;
using Grpc.Net.Client;

namespace Ballast.Tests.SharedView;

/// <summary>
/// The etcd view store against an etcd with authentication enabled (its own process: enabling it changes the whole
/// cluster). With the right user the view works; with a wrong password or none, the frontend cannot read the view, so
/// it never trusts a server: misses, never values (fail closed).
/// </summary>
[Collection(WallClockBoundCollection.Name)]
public sealed class EtcdAuthenticationTests
{
    private const string Password = "Vi3w-Pa55";

    [Fact]
    public async Task With_the_right_user_the_view_is_read_and_requests_work_and_without_it_every_read_misses()
    {
        await using var etcd = await EtcdProcess.StartAsync();
        await EnableAuthenticationAsync(etcd.Endpoint);
        await using var servers = await MemcachedServers.StartAsync(3);
        var pool = "auth-" + Guid.NewGuid().ToString("N")[..8];

        await using (var right = new MemcachedClient(Options(servers, etcd, pool, new EtcdCredentials("root", Password))))
        {
            Assert.True(await IntegrityHarness.WaitUntilAsync(() => right.IsSharedViewFresh, TimeSpan.FromSeconds(10)), "the frontend with the right etcd user never read the view");
            Assert.Equal(StoreStatus.Stored, (await right.SetAsync("k", "v")).Status);
            Assert.Equal("v", await right.GetStringAsync("k"));
        }

        foreach (var credentials in new[] { new EtcdCredentials("root", "not-the-password"), null })
        {
            await using var wrong = new MemcachedClient(Options(servers, etcd, pool, credentials));
            await Task.Delay(1500);
            Assert.False(wrong.IsSharedViewFresh, $"a frontend with {credentials?.ToString() ?? "no credentials"} read the view");
            Assert.Null(await wrong.GetStringAsync("k"));
            Assert.DoesNotContain("not-the-password", credentials?.ToString() ?? string.Empty, StringComparison.Ordinal);
        }
    }

    private static MemcachedClientOptions Options(MemcachedServers servers, EtcdProcess etcd, string pool, EtcdCredentials? credentials)
    {
        var options = new MemcachedClientOptions { OperationTimeout = TimeSpan.FromSeconds(2), ConnectTimeout = TimeSpan.FromSeconds(3) };
        foreach (var endPoint in servers.EndPoints)
        {
            options.Servers.Add(endPoint);
        }

        options.SharedView.UseEtcdView([etcd.Endpoint], credentials);
        options.SharedView.PoolName = pool;
        return options;
    }

    /// <summary>What <c>etcdctl user add root; etcdctl user grant-role root root; etcdctl auth enable</c> does, over etcd's own API.</summary>
    private static async Task EnableAuthenticationAsync(string endpoint)
    {
        using var channel = GrpcChannel.ForAddress(endpoint);
        var auth = new Auth.AuthClient(channel);
        await auth.UserAddAsync(new AuthUserAddRequest { Name = "root", Password = Password });
        try
        {
            await auth.RoleAddAsync(new AuthRoleAddRequest { Name = "root" });
        }
        catch (Grpc.Core.RpcException)
        {
            // Some etcd versions create the root role themselves.
        }

        await auth.UserGrantRoleAsync(new AuthUserGrantRoleRequest { User = "root", Role = "root" });
        await auth.AuthEnableAsync(new AuthEnableRequest());
    }
}
