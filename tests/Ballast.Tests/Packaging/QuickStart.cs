using System.Text.RegularExpressions;

namespace Ballast.Tests.Packaging;

/// <summary>
/// One of the README's quick starts as data: its shell commands (one per <c>&amp;&amp;</c>-joined step), its
/// appsettings.json and its Program.cs, taken from the first <c>bash</c>, <c>json</c> and <c>csharp</c> blocks of the
/// section whose heading starts with the given text.
/// </summary>
internal sealed partial record QuickStart(IReadOnlyList<string> Commands, string AppSettings, string AppSettingsServers, string Program)
{
    public static QuickStart Read(string readmePath, string heading) => Parse(File.ReadAllText(readmePath), heading);

    /// <exception cref="InvalidOperationException">The README has no such section, or it lacks one of the blocks.</exception>
    public static QuickStart Parse(string readme, string heading)
    {
        var text = readme.ReplaceLineEndings("\n");
        var start = text.IndexOf("\n" + heading, StringComparison.Ordinal);
        if (start < 0)
        {
            throw new InvalidOperationException($"README.md has no '{heading}' section");
        }

        var end = text.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        var section = end < 0 ? text[start..] : text[start..end];
        var commands = Block(section, "bash").Split('\n')
            .Where(line => !line.TrimStart().StartsWith('#'))
            .SelectMany(line => line.Split("&&", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Where(command => command.Length > 0)
            .ToList();
        var settings = Block(section, "json");
        var servers = ServersSetting().Match(settings);
        if (!servers.Success)
        {
            throw new InvalidOperationException("the quick start's appsettings.json sets no \"Servers\"");
        }

        return new QuickStart(commands, settings, servers.Groups["servers"].Value, Block(section, "csharp"));
    }

    private static string Block(string section, string language)
    {
        var fence = $"```{language}\n";
        var open = section.IndexOf(fence, StringComparison.Ordinal);
        var close = open < 0 ? -1 : section.IndexOf("\n```", open + fence.Length - 1, StringComparison.Ordinal);
        if (close < 0)
        {
            throw new InvalidOperationException($"the quick start has no ```{language} block");
        }

        return section[(open + fence.Length)..close] + "\n";
    }

    [GeneratedRegex(@"""Servers""\s*:\s*""(?<servers>[^""]+)""")]
    private static partial Regex ServersSetting();
}
