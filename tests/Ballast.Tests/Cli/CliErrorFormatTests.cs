using System.Net;
using System.Net.Sockets;
using Ballast.Cli;

namespace Ballast.Tests.Cli;

/// <summary>
/// Every command fails the same way (one line, <c>ballast: error: ...</c>, an exit code from <see cref="ExitCodes"/>),
/// and a server that gives no answer says why: a refused connection, a name that does not resolve and a server that
/// does not answer in time read differently.
/// </summary>
public sealed class CliErrorFormatTests
{
    [Fact]
    public async Task A_refused_connection_an_unknown_host_and_a_timeout_each_say_what_happened()
    {
        var refused = await CliHarness.RunAsync("get", "k", "--servers", $"127.0.0.1:{CliHarness.UnusedPort()}", "--timeout", "300");

        // An empty label fails in the local resolver (no query leaves the machine), as an unknown name does.
        var unknown = await CliHarness.RunAsync("get", "k", "--servers", "bad..host:11211", "--timeout", "300");

        // A loopback listener that never accepts: the kernel completes the connection, nobody ever answers.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start(16);
        var timedOut = await CliHarness.RunAsync("get", "k", "--servers", $"127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}", "--timeout", "300");

        CliHarness.AssertOneLineError(refused, ExitCodes.ServerError, "refused the connection");
        CliHarness.AssertOneLineError(unknown, ExitCodes.ServerError, "unknown host 'bad..host'");
        CliHarness.AssertOneLineError(timedOut, ExitCodes.ServerError, "did not answer");
        Assert.Contains("300 ms", timedOut.Error, StringComparison.Ordinal);
        var lines = new[] { refused.Error, unknown.Error, timedOut.Error };
        Assert.Equal(3, lines.Distinct().Count());
        Assert.All(lines, l => Assert.DoesNotContain("unreachable or fenced", l, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_set_to_a_refusing_server_says_it_refused()
    {
        var run = await CliHarness.RunAsync("set", "k", "v", "--servers", $"127.0.0.1:{CliHarness.UnusedPort()}", "--timeout", "300");
        CliHarness.AssertOneLineError(run, ExitCodes.ServerError, "refused the connection");
    }

    [Fact]
    public async Task Chaos_takes_its_server_count_as_start_servers_and_explains_the_old_servers_count()
    {
        var old = await CliHarness.RunAsync("chaos", "--servers", "5");
        CliHarness.AssertOneLineError(old, ExitCodes.Usage, "--start-servers");

        var outOfRange = await CliHarness.RunAsync("chaos", "--start-servers", "0");
        CliHarness.AssertOneLineError(outOfRange, ExitCodes.Usage, "--start-servers must be 1 to 16");
        Assert.DoesNotContain("(Parameter", outOfRange.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("frob")]
    [InlineData("get")]
    [InlineData("--timeout", "5", "get", "k")]
    [InlineData("set", "k", "v", "--ttl", "soon")]
    [InlineData("bench", "--duration", "soon")]
    public async Task Usage_errors_of_every_command_are_one_line_in_the_one_format_with_exit_2(params string[] args)
    {
        var run = await CliHarness.RunAsync(args);
        CliHarness.AssertOneLineError(run, ExitCodes.Usage);
    }

    [Fact]
    public async Task The_monitors_help_gives_its_own_default_timeout()
    {
        var help = await CliHarness.RunAsync("monitor", "--help");
        var line = Assert.Single(help.Text.Split('\n'), l => l.Contains("--timeout <ms>", StringComparison.Ordinal));
        Assert.Contains("500 for monitor", line, StringComparison.Ordinal);
    }
}
