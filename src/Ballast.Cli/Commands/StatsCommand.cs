using System.CommandLine;

namespace Ballast.Cli.Commands;

/// <summary><c>ballast stats</c>: every server's <c>stats</c>, as plain aligned text that reads well and greps well.</summary>
internal sealed class StatsCommand
{
    public static Command Create(CommonOptions common, CliConsole console)
    {
        var command = new Command(
            "stats",
            "Prints each server's statistics: a line with the server, then 'name value' rows sorted by name; " +
            "a server that does not answer shows its error. Control characters a server sends are shown as \\xNN unless --raw. Exits 3 only if no server answered.");

        CliAction.Set(command, console, async (parseResult, cancellationToken) =>
        {
            await using var client = common.CreateClient(parseResult);
            var all = await client.StatsAsync(cancellationToken).ConfigureAwait(false);
            var output = console.OutputText;
            for (var i = 0; i < all.Count; i++)
            {
                if (i > 0)
                {
                    await output.WriteLineAsync().ConfigureAwait(false);
                }

                await WriteServerAsync(output, all[i], parseResult.GetValue(common.Raw) ? static text => text : TerminalText.Escape).ConfigureAwait(false);
            }

            var failed = all.Count(s => s.Values is null);
            if (failed == all.Count)
            {
                throw new CliException(ExitCodes.ServerError, $"stats: none of the {all.Count} servers answered.");
            }

            return ExitCodes.Success;
        });
        return command;
    }

    /// <param name="output">Standard output.</param>
    /// <param name="statistics">One server's answer.</param>
    /// <param name="shown">How server text is written: escaped (<see cref="TerminalText.Escape(string)"/>), or as sent with --raw.</param>
    private static async Task WriteServerAsync(TextWriter output, ServerStatistics statistics, Func<string, string> shown)
    {
        await output.WriteLineAsync(statistics.Server.ToString()).ConfigureAwait(false);
        if (statistics.Values is not { } values)
        {
            await output.WriteLineAsync($"  error: {shown(statistics.Error ?? string.Empty)}").ConfigureAwait(false);
            return;
        }

        // Padding to the longest name keeps values in one column; ordinal order is what `sort` gives.
        var rows = values.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => (Name: shown(p.Key), Value: shown(p.Value))).ToList();
        var width = rows.Max(r => r.Name.Length);
        foreach (var (name, value) in rows)
        {
            await output.WriteLineAsync($"  {name.PadRight(width)}  {value}").ConfigureAwait(false);
        }
    }
}
