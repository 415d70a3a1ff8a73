using System.Diagnostics;
using System.Reflection;
using Ballast.Cli;
using Ballast.Tests.Support;

namespace Ballast.Tests.Cli;

/// <summary>
/// The built CLI run as a real process: proves what the in-process tests cannot, that Program.cs wires the real
/// standard streams (binary stdin and stdout included) and exit codes through.
/// </summary>
public sealed class CliProcessTests
{
    [Fact]
    public async Task The_built_cli_sets_from_stdin_and_gets_the_exact_bytes()
    {
        await using var servers = await MemcachedServers.StartAsync(1);
        var pool = servers[0].EndPoint;
        byte[] value = [0, 1, 2, 0xFF, 0x0A, 0x0D, 0x0A];

        var set = await RunCliAsync(value, "set", "process-key", "--servers", pool);
        var get = await RunCliAsync(null, "get", "process-key", "--servers", pool);
        var miss = await RunCliAsync(null, "get", "process-missing", "--servers", pool);

        Assert.True(set.ExitCode == ExitCodes.Success, set.Error);
        Assert.True(get.ExitCode == ExitCodes.Success, get.Error);
        Assert.Equal(value, get.Output);
        Assert.Equal(ExitCodes.NotFound, miss.ExitCode);
        Assert.Equal("miss: process-missing", miss.Error.Trim());
    }

    private static async Task<CliRun> RunCliAsync(byte[]? input, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(CliDll());
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var stdout = new MemoryStream();
        var copyOut = process.StandardOutput.BaseStream.CopyToAsync(stdout, timeout.Token);
        var readError = process.StandardError.ReadToEndAsync(timeout.Token);
        if (input is not null)
        {
            await process.StandardInput.BaseStream.WriteAsync(input, timeout.Token);
        }

        process.StandardInput.Close();
        await process.WaitForExitAsync(timeout.Token);
        await copyOut;
        return new CliRun(process.ExitCode, stdout.ToArray(), await readError);
    }

    /// <summary>
    /// Ballast.Cli.dll as the build left it: src/Ballast.Cli/bin/&lt;configuration&gt;/net10.0 under the folder that
    /// holds Ballast.slnx, found by walking up from this test assembly, built in the same configuration.
    /// </summary>
    internal static string CliDll()
    {
        var configuration = typeof(CliProcessTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Ballast.slnx")))
        {
            directory = directory.Parent;
        }

        Assert.True(directory is not null, $"no Ballast.slnx above {AppContext.BaseDirectory}");
        var dll = Path.Combine(directory.FullName, "src", "Ballast.Cli", "bin", configuration, "net10.0", "Ballast.Cli.dll");
        Assert.True(File.Exists(dll), $"{dll} not found; build the solution first");
        return dll;
    }
}
