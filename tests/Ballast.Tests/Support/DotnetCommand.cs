using System.Diagnostics;

namespace Ballast.Tests.Support;

/// <summary>Runs the dotnet CLI (pack, new, add package, build, tool install) for tests of what users do, bounded in time.</summary>
internal static class DotnetCommand
{
    /// <summary>The repository's root: the folder that holds Ballast.slnx.</summary>
    public static string SolutionDirectory()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Ballast.slnx")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException($"no Ballast.slnx above {AppContext.BaseDirectory}");
    }

    /// <summary>Runs <paramref name="file"/> with <paramref name="arguments"/>; fails the test if it takes longer than <paramref name="limit"/>.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string file, string[] arguments, TimeSpan limit, string? directory = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (directory is not null)
        {
            start.WorkingDirectory = directory;
        }

        Quiet(start);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{file} {string.Join(' ', arguments)} took longer than {limit}");
        }

        return (process.ExitCode, await output + await error);
    }

    /// <summary>No telemetry, banners or first-run work in the output.</summary>
    public static void Quiet(ProcessStartInfo start)
    {
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
    }
}
