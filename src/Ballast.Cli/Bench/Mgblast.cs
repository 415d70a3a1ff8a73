using System.Globalization;
using System.Text.RegularExpressions;

namespace Ballast.Cli.Bench;

/// <summary>
/// mgblast, the ceiling: a minimal C client with no library keeping DEPTH pipelined meta gets in flight per connection
/// to one server on 127.0.0.1. Its argv is <c>PORT CONNS DEPTH SECONDS</c>; it prints "N keys/s".
/// </summary>
internal static partial class Mgblast
{
    /// <summary>The source's default place: <c>../shared/tools/mgblast.c</c> from the folder holding Ballast.slnx.</summary>
    public static string? FindSource(string? overridePath)
    {
        if (!string.IsNullOrEmpty(overridePath))
        {
            return File.Exists(overridePath) ? Path.GetFullPath(overridePath) : null;
        }

        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Ballast.slnx")))
                {
                    var candidate = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "tools", "mgblast.c"));
                    if (File.Exists(candidate))
                    {
                        return candidate;
                    }

                    break;
                }
            }
        }

        return null;
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
