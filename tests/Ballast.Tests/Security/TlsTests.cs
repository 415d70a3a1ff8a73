using System.Net.Security;
using Ballast.Cli;
using Ballast.Tests.Cli;

namespace Ballast.Tests.Security;

/// <summary>TLS against a real memcached started with <c>-Z</c> and a certificate the test made.</summary>
public sealed class TlsTests
{
    [Fact]
    public async Task A_client_that_trusts_the_servers_authority_round_trips_over_tls()
    {
        await using var server = await SecuredServer.StartAsync(tls: true, auth: false);
        await using var client = new MemcachedClient(server.Options(o =>
        {
            o.Tls.Enabled = true;
            o.Tls.CertificateAuthorityFile = server.Certificates.AuthorityFile;
        }));

        Assert.Equal(StoreStatus.Stored, (await client.SetAsync("tls-key", "over tls")).Status);
        Assert.Equal("over tls", await client.GetStringAsync("tls-key"));
        var many = await client.GetManyAsync(["tls-key", "tls-missing"]);
        Assert.True(many["tls-key"].IsHit);
        Assert.False(many["tls-missing"].IsHit);
    }

    [Fact]
    public async Task An_untrusted_certificate_fails_every_operation_with_a_tls_exception_naming_server_and_reason_never_a_miss()
    {
        await using var server = await SecuredServer.StartAsync(tls: true, auth: false);
        await using var client = new MemcachedClient(server.Options(o =>
        {
            o.Tls.Enabled = true;
            o.Tls.CertificateAuthorityFile = server.Certificates.OtherAuthorityFile;
        }));

        var read = await Assert.ThrowsAsync<MemcachedTlsException>(async () => await client.GetAsync("k"));
        Assert.Contains(server.EndPoint.ToString(), read.Message, StringComparison.Ordinal);
        Assert.Contains("not trusted", read.Message, StringComparison.Ordinal);
        Assert.True(read.PolicyErrors.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors));
        await Assert.ThrowsAsync<MemcachedTlsException>(async () => await client.SetAsync("k", "v"));
    }

    [Fact]
    public async Task A_certificate_for_another_host_name_is_refused_and_the_message_says_so()
    {
        await using var server = await SecuredServer.StartAsync(tls: true, auth: false);
        await using var client = new MemcachedClient(server.Options(o =>
        {
            o.Tls.Enabled = true;
            o.Tls.CertificateAuthorityFile = server.Certificates.AuthorityFile;
            o.Tls.TargetHost = "cache.example.org";
        }));

        var error = await Assert.ThrowsAsync<MemcachedTlsException>(async () => await client.GetAsync("k"));
        Assert.Contains("'cache.example.org'", error.Message, StringComparison.Ordinal);
        Assert.Contains("not issued for this host name", error.Message, StringComparison.Ordinal);
        Assert.Equal(SslPolicyErrors.RemoteCertificateNameMismatch, error.PolicyErrors);
    }

    [Fact]
    public async Task A_validation_callback_decides_and_sees_ballasts_verdict()
    {
        await using var server = await SecuredServer.StartAsync(tls: true, auth: false);
        var seen = SslPolicyErrors.None;
        await using var client = new MemcachedClient(server.Options(o =>
        {
            o.Tls.Enabled = true;
            o.Tls.ServerCertificateValidation = (_, certificate, _, errors) =>
            {
                seen = errors;
                return certificate?.Subject == "CN=localhost";
            };
        }));

        Assert.Equal(StoreStatus.Stored, (await client.SetAsync("pinned", "v")).Status);
        Assert.Equal("v", await client.GetStringAsync("pinned"));
        Assert.True(seen.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors), "the system store does not trust the test's authority");
    }

    [Fact]
    public async Task A_plain_client_against_a_tls_server_fails_within_its_timeout_instead_of_hanging()
    {
        await using var server = await SecuredServer.StartAsync(tls: true, auth: false);
        await using var client = new MemcachedClient(server.Options(o =>
        {
            o.OperationTimeout = TimeSpan.FromMilliseconds(500);
            o.SharedView.Enabled = false;
        }));

        var started = DateTime.UtcNow;
        await Assert.ThrowsAnyAsync<MemcachedException>(async () => await client.GetFromHomeServerAsync("k"));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task The_cli_sets_and_gets_over_tls_and_an_untrusted_certificate_exits_with_its_own_code()
    {
        await using var server = await SecuredServer.StartAsync(tls: true, auth: false);
        var pool = server.EndPoint.ToString();
        var ca = server.Certificates.AuthorityFile;

        var set = await CliHarness.RunAsync("--servers", pool, "--tls", "--tls-ca", ca, "--timeout", "10000", "set", "k", "v");
        var get = await CliHarness.RunAsync("--servers", pool, "--tls", "--tls-ca", ca, "--timeout", "10000", "get", "k");
        var untrusted = await CliHarness.RunAsync("--servers", pool, "--tls", "--tls-ca", server.Certificates.OtherAuthorityFile, "--timeout", "10000", "get", "k");
        var noTls = await CliHarness.RunAsync("--servers", pool, "--tls-ca", ca, "get", "k");

        Assert.True(set.ExitCode == ExitCodes.Success, set.Error);
        Assert.True(get.ExitCode == ExitCodes.Success, get.Error);
        Assert.Equal("v", get.Text);
        CliHarness.AssertOneLineError(untrusted, ExitCodes.TlsFailed, "TLS failed");
        Assert.Contains("not trusted", untrusted.Error, StringComparison.Ordinal);
        CliHarness.AssertOneLineError(noTls, ExitCodes.Usage, "--tls");
    }
}
