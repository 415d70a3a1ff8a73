using System.Globalization;
using System.Text.RegularExpressions;

namespace Ballast.Cli.Bench;

/// <summary>
/// mgblast, the ceiling: a minimal C client with no library keeping DEPTH pipelined meta gets in flight per connection
/// to one server on 127.0.0.1. Its argv is <c>PORT CONNS DEPTH SECONDS</c>; it prints "N keys/s".
/// </summary>
internal static partial class Mgblast
{
    /// <summary>
    /// The source to compile: <paramref name="overridePath"/> when given (null when it does not exist), else the copy
    /// embedded in the tool (<c>src/Ballast.Cli/Bench/mgblast.c</c>), written into <paramref name="directory"/>.
    /// </summary>
    public static string? FindSource(string? overridePath, string directory)
    {
        if (!string.IsNullOrEmpty(overridePath))
        {
            return File.Exists(overridePath) ? Path.GetFullPath(overridePath) : null;
        }

        using var embedded = typeof(Mgblast).Assembly.GetManifestResourceStream("Ballast.Cli.Bench.mgblast.c")
            ?? throw new InvalidOperationException("mgblast.c is not embedded in the tool");
        var path = Path.Combine(directory, "mgblast.c");
        using (var file = File.Create(path))
        {
            embedded.CopyTo(file);
        }

        return path;
    }

    /// <summary>Compiles the source into <paramref name="directory"/>; returns the binary's path or an error.</summary>
    public static async Task<(string? Binary, string? Error)> CompileAsync(string source, string directory, CancellationToken cancellationToken)
    {
        var binary = Path.Combine(directory, "mgblast");
        var outcome = await ChildProcess.RunAsync("gcc", ["-O2", "-o", binary, source], TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
        return outcome.ExitCode == 0 && File.Exists(binary) ? (binary, null) : (null, $"gcc failed ({outcome.ExitCode}): {outcome.Output.Trim()}");
    }

    public static double? Parse(string output)
    {
        var match = KeysPerSecond().Match(output);
        return match.Success ? double.Parse(match.Groups["n"].Value, CultureInfo.InvariantCulture) : null;
    }

    [GeneratedRegex(@"(?<n>\d+(?:\.\d+)?) keys/s")]
    private static partial Regex KeysPerSecond();
}
