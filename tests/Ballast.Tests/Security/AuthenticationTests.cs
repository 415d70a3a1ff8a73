using Ballast.Cli;
using Ballast.Tests.Cli;

namespace Ballast.Tests.Security;

/// <summary>ASCII authentication against a real memcached started with <c>-Y</c> (and with <c>-Z</c> too).</summary>
public sealed class AuthenticationTests
{
    [Fact]
    public async Task The_right_credentials_log_in_on_each_connection_and_requests_work()
    {
        await using var server = await SecuredServer.StartAsync(tls: false, auth: true);
        await using var client = new MemcachedClient(server.Options(o =>
        {
            o.Credentials = new MemcachedCredentials(SecuredServer.User, SecuredServer.Password);
            o.ConnectionsPerServer = 3;
        }));

        for (var i = 0; i < 6; i++)
        {
            Assert.Equal(StoreStatus.Stored, (await client.SetAsync($"auth-{i}", $"v{i}")).Status);
        }

        for (var i = 0; i < 6; i++)
        {
            Assert.Equal($"v{i}", await client.GetStringAsync($"auth-{i}"));
        }
    }

    [Fact]
    public async Task A_wrong_password_is_an_authentication_exception_on_reads_and_writes_never_a_miss_and_never_shows_the_password()
    {
        await using var server = await SecuredServer.StartAsync(tls: false, auth: true);
        const string WrongPassword = "not-the-Pa55word";
        await using var client = new MemcachedClient(server.Options(o => o.Credentials = new MemcachedCredentials(SecuredServer.User, WrongPassword)));

        var read = await Assert.ThrowsAsync<MemcachedAuthenticationException>(async () => await client.GetAsync("k"));
        var write = await Assert.ThrowsAsync<MemcachedAuthenticationException>(async () => await client.SetAsync("k", "v"));

        foreach (var error in new Exception[] { read, write })
        {
            Assert.Contains(server.EndPoint.ToString(), error.Message, StringComparison.Ordinal);
            Assert.Contains($"'{SecuredServer.User}'", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(WrongPassword, error.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_server_that_demands_a_login_from_a_client_without_credentials_is_an_authentication_exception_not_a_miss()
    {
        await using var server = await SecuredServer.StartAsync(tls: false, auth: true);
        await using var client = new MemcachedClient(server.Options(o => o.SharedView.Enabled = false));

        var error = await Assert.ThrowsAsync<MemcachedAuthenticationException>(async () => await client.GetAsync("k"));
        Assert.Contains("requires authentication", error.Message, StringComparison.Ordinal);
        Assert.Contains(server.EndPoint.ToString(), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Credentials_work_over_tls()
    {
        await using var server = await SecuredServer.StartAsync(tls: true, auth: true);
        await using var client = new MemcachedClient(server.Options(o =>
        {
            o.Tls.Enabled = true;
            o.Tls.CertificateAuthorityFile = server.Certificates.AuthorityFile;
            o.Credentials = new MemcachedCredentials(SecuredServer.User, SecuredServer.Password);
        }));

        Assert.Equal(StoreStatus.Stored, (await client.SetAsync("both", "tls+auth")).Status);
        Assert.Equal("tls+auth", await client.GetStringAsync("both"));
    }

    [Fact]
    public void Credentials_keep_the_password_out_of_to_string_and_refuse_line_breaks_without_showing_it()
    {
        var credentials = new MemcachedCredentials("alice", "hunter2-secret");
        Assert.DoesNotContain("hunter2", credentials.ToString(), StringComparison.Ordinal);
        Assert.Contains("alice", credentials.ToString(), StringComparison.Ordinal);

        var error = Assert.Throws<ArgumentException>(() => new MemcachedCredentials("alice", "pass\r\nstats"));
        Assert.DoesNotContain("pass", error.Message.Replace("password", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new MemcachedCredentials("al ice", "x"));
        Assert.Throws<ArgumentException>(() => new MemcachedCredentials("al:ice", "x"));
    }

    [Fact]
    public async Task The_cli_logs_in_with_a_password_file_and_a_wrong_one_exits_with_its_own_code_and_one_line()
    {
        await using var server = await SecuredServer.StartAsync(tls: false, auth: true);
        var pool = server.EndPoint.ToString();
        var right = Path.Combine(server.Certificates.Directory, "right.txt");
        var wrong = Path.Combine(server.Certificates.Directory, "wrong.txt");
        await File.WriteAllTextAsync(right, SecuredServer.Password + "\n");
        await File.WriteAllTextAsync(wrong, "wrong-password\n");

        var set = await CliHarness.RunAsync("--servers", pool, "--user", SecuredServer.User, "--password-file", right, "set", "k", "v");
        var get = await CliHarness.RunAsync("--servers", pool, "--user", SecuredServer.User, "--password-file", right, "get", "k");
        var refused = await CliHarness.RunAsync("--servers", pool, "--user", SecuredServer.User, "--password-file", wrong, "get", "k");
        var none = await CliHarness.RunAsync("--servers", pool, "get", "k");

        Assert.True(set.ExitCode == ExitCodes.Success, set.Error);
        Assert.Equal("v", get.Text);
        CliHarness.AssertOneLineError(refused, ExitCodes.AuthenticationFailed, "authentication failed");
        Assert.DoesNotContain("wrong-password", refused.Error, StringComparison.Ordinal);
        CliHarness.AssertOneLineError(none, ExitCodes.AuthenticationFailed, "requires authentication");
    }
}
