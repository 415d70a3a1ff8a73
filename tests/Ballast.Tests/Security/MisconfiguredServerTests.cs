using System.Collections.Concurrent;
using System.Globalization;
using Ballast.FaultInjection;
using Ballast.Tests.Integrity;
using Ballast.Tests.Support;

namespace Ballast.Tests.Security;

/// <summary>
/// A TLS or authentication failure is a fault of that one server: an impostor that demands a login, or a server whose
/// certificate is not trusted, among real servers. Its keys fail with its error, every other server's keys work, and
/// its health and a ServerFailed event say why.
/// </summary>
public sealed class MisconfiguredServerTests
{
    [Fact]
    public async Task A_server_that_demands_a_login_fails_its_own_keys_only_and_is_reported_down_with_the_reason()
    {
        await using var servers = await MemcachedServers.StartAsync(2);
        await using var impostor = new MisbehavingServer(_ => new MisbehavingServer.Reply("CLIENT_ERROR unauthenticated\r\n"));
        var options = servers.Options(o => o.SharedView.Bound = TimeSpan.FromSeconds(1));
        options.Servers.Add(impostor.EndPoint);
        await using var client = new MemcachedClient(options);
        var failed = new ConcurrentQueue<ServerFailedEventArgs>();
        client.ServerFailed += (_, e) => failed.Enqueue(e);

        var tally = await RunAsync(client, impostor.EndPoint, typeof(MemcachedAuthenticationException));

        AssertOnlyItsKeysFail(tally);
        Assert.True(await IntegrityHarness.WaitUntilAsync(() => failed.Any(e => e.Server == impostor.EndPoint), TimeSpan.FromSeconds(5)), "no ServerFailed event for the impostor");
        var reported = failed.First(e => e.Server == impostor.EndPoint);
        Assert.Equal(ServerFailureReason.AuthenticationFailed, reported.Reason);
        Assert.Contains("requires authentication", reported.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(failed, e => e.Server != impostor.EndPoint);
        Assert.Equal(ServerState.Down, client.GetServerState(impostor.EndPoint));
        Assert.All(servers.EndPoints, e => Assert.Equal(ServerState.Up, client.GetServerState(e)));
    }

    [Fact]
    public async Task A_server_with_an_untrusted_certificate_fails_its_own_keys_only_and_is_reported_down_with_the_reason()
    {
        using var trusted = TestCertificates.Create();
        using var untrusted = TestCertificates.Create();
        var processes = new List<MemcachedProcess>();
        try
        {
            foreach (var certificates in new[] { trusted, trusted, untrusted })
            {
                processes.Add(await MemcachedProcess.StartAsync(new MemcachedProcessOptions
                {
                    TlsCertificateFile = certificates.ServerCertificateFile,
                    TlsKeyFile = certificates.ServerKeyFile,
                    StartTimeout = TimeSpan.FromSeconds(15),
                }));
            }

            var options = new MemcachedClientOptions { ConnectTimeout = TimeSpan.FromSeconds(10), OperationTimeout = TimeSpan.FromSeconds(5) };
            options.Tls.Enabled = true;
            options.Tls.CertificateAuthorityFile = trusted.AuthorityFile;
            options.SharedView.Bound = TimeSpan.FromSeconds(2);
            foreach (var process in processes)
            {
                options.Servers.Add(new ServerEndPoint(process.Host, process.Port));
            }

            var impostor = options.Servers[2];
            await using var client = new MemcachedClient(options);
            var failed = new ConcurrentQueue<ServerFailedEventArgs>();
            client.ServerFailed += (_, e) => failed.Enqueue(e);

            var tally = await RunAsync(client, impostor, typeof(MemcachedTlsException));

            AssertOnlyItsKeysFail(tally);
            Assert.True(await IntegrityHarness.WaitUntilAsync(() => failed.Any(e => e.Server == impostor), TimeSpan.FromSeconds(5)), "no ServerFailed event for the untrusted server");
            var reported = failed.First(e => e.Server == impostor);
            Assert.Equal(ServerFailureReason.TlsFailed, reported.Reason);
            Assert.Contains("not trusted", reported.Detail, StringComparison.Ordinal);
            Assert.DoesNotContain(failed, e => e.Server != impostor);
            Assert.Equal(ServerState.Down, client.GetServerState(impostor));
            Assert.All(options.Servers.Take(2), e => Assert.Equal(ServerState.Up, client.GetServerState(e)));
        }
        finally
        {
            foreach (var process in processes)
            {
                await process.DisposeAsync();
            }
        }
    }

    /// <summary>What became of the operations on each side.</summary>
    private sealed record Tally(int HealthyOk, List<string> HealthyFailures, int ImpostorRefused, List<string> ImpostorOther);

    /// <summary>Sets then gets 40 keys: each healthy server's keys must round-trip, the impostor's must throw <paramref name="expected"/>.</summary>
    private static async Task<Tally> RunAsync(MemcachedClient client, ServerEndPoint impostor, Type expected)
    {
        await IntegrityHarness.WaitUntilAsync(() => client.IsSharedViewFresh, TimeSpan.FromSeconds(10));
        var healthyOk = 0;
        var impostorRefused = 0;
        var healthyFailures = new List<string>();
        var impostorOther = new List<string>();
        for (var i = 0; i < 40; i++)
        {
            var key = string.Create(CultureInfo.InvariantCulture, $"misconfigured:{i}");
            var onImpostor = client.Locate(key) == impostor;
            foreach (var operation in new Func<Task<bool>>[]
            {
                async () => (await client.SetAsync(key, "v")).IsStored,
                async () => (await client.GetStringAsync(key)) == "v",
            })
            {
                try
                {
                    var ok = await operation();
                    if (!onImpostor && ok)
                    {
                        healthyOk++;
                    }
                    else if (!onImpostor)
                    {
                        healthyFailures.Add($"{key}: not stored or not read back");
                    }
                    else
                    {
                        impostorOther.Add($"{key}: no error");
                    }
                }
                catch (Exception error) when (onImpostor && error.GetType() == expected)
                {
                    impostorRefused++;
                }
                catch (Exception error)
                {
                    (onImpostor ? impostorOther : healthyFailures).Add($"{key}: {error.GetType().Name}: {error.Message}");
                }
            }
        }

        return new Tally(healthyOk, healthyFailures, impostorRefused, impostorOther);
    }

    private static void AssertOnlyItsKeysFail(Tally tally)
    {
        var summary = $"healthy servers' operations: {tally.HealthyOk} ok, {tally.HealthyFailures.Count} failed; the impostor's: {tally.ImpostorRefused} refused with its error, {tally.ImpostorOther.Count} otherwise. First failures: {string.Join(" | ", tally.HealthyFailures.Concat(tally.ImpostorOther).Take(3))}";
        Assert.True(tally.HealthyFailures.Count == 0 && tally.HealthyOk > 0, summary);
        Assert.True(tally.ImpostorOther.Count == 0 && tally.ImpostorRefused > 0, summary);
    }
}
