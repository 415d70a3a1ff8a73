using System.Net;
using System.Net.Sockets;
using System.Text;
using Ballast.Cli;

namespace Ballast.Tests.Cli;

/// <summary>What one in-process run of the CLI produced.</summary>
public sealed record CliRun(int ExitCode, byte[] Output, string Error)
{
    public string Text => Encoding.UTF8.GetString(Output);

    public string[] ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>Runs the CLI in-process, exactly as Program.cs does, with memory streams for its standard streams.</summary>
public static class CliHarness
{
    public static async Task<CliRun> RunAsync(byte[]? input, params string[] args)
    {
        using var stdin = new MemoryStream(input ?? []);
        using var stdout = new MemoryStream();
        using var stderr = new StringWriter();
        var console = new CliConsole(stdin, isInputRedirected: input is not null, stdout, stderr);
        var exitCode = await RootCommandFactory.RunAsync(args, console);
        return new CliRun(exitCode, stdout.ToArray(), stderr.ToString().Replace("\r\n", "\n", StringComparison.Ordinal));
    }

    public static Task<CliRun> RunAsync(params string[] args) => RunAsync(null, args);

    /// <summary>A loopback port nothing listens on: bound to find a free one, then released.</summary>
    public static int UnusedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>Asserts the CLI failed the way scripts rely on: the expected code and exactly one 'ballast: error: ' line.</summary>
    public static void AssertOneLineError(CliRun run, int exitCode, string? contains = null)
    {
        Assert.Equal(exitCode, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.StartsWith("ballast: error: ", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Error, StringComparison.Ordinal);
        if (contains is not null)
        {
            Assert.Contains(contains, line, StringComparison.Ordinal);
        }
    }
}
