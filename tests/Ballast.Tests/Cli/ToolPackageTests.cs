using System.Reflection;
using Ballast.Tests.Support;

namespace Ballast.Tests.Cli;

/// <summary>
/// The CLI as users get it: packed into a local feed, installed with <c>dotnet tool install ballast</c> into a
/// temporary tool path, run as the command <c>ballast</c>. Each step is bounded in time; the temporary folders go.
/// </summary>
[Collection(Extensions.ApplicationCollection.Name)]
public sealed class ToolPackageTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("ballast-tool-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Dotnet_tool_install_ballast_installs_a_command_named_ballast_whose_help_says_ballast()
    {
        var configuration = typeof(ToolPackageTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var feed = Path.Combine(_root, "feed");
        var tools = Path.Combine(_root, "tools");
        var project = Path.Combine(SolutionDirectory(), "src", "Ballast.Cli", "Ballast.Cli.csproj");

        var pack = await RunAsync("dotnet", ["pack", project, "-c", configuration, "--no-build", "-o", feed, "-nologo"], TimeSpan.FromMinutes(4));
        Assert.True(pack.ExitCode == 0, pack.Output);
        Assert.Contains(Directory.GetFiles(feed), f => Path.GetFileName(f).StartsWith("ballast.", StringComparison.Ordinal) && f.EndsWith(".nupkg", StringComparison.Ordinal));

        var install = await RunAsync("dotnet", ["tool", "install", "--tool-path", tools, "--add-source", feed, "ballast"], TimeSpan.FromMinutes(3));
        Assert.True(install.ExitCode == 0, install.Output);

        var help = await RunAsync(Path.Combine(tools, "ballast"), ["--help"], TimeSpan.FromMinutes(1));
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("Usage:\n  ballast [command] [options]", help.Output.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.DoesNotContain("Ballast.Cli", help.Output, StringComparison.Ordinal);
    }

    private static Task<(int ExitCode, string Output)> RunAsync(string file, string[] arguments, TimeSpan limit) => DotnetCommand.RunAsync(file, arguments, limit);

    private static string SolutionDirectory() => DotnetCommand.SolutionDirectory();
}
