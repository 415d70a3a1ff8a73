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
            "a server that does not answer shows its error. Exits 3 only if no server answered.");

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

                await WriteServerAsync(output, all[i]).ConfigureAwait(false);
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

    private static async Task WriteServerAsync(TextWriter output, ServerStatistics statistics)
    {
        await output.WriteLineAsync(statistics.Server.ToString()).ConfigureAwait(false);
        if (statistics.Values is not { } values)
        {
            await output.WriteLineAsync($"  error: {statistics.Error}").ConfigureAwait(false);
            return;
        }

        // Padding to the longest name keeps values in one column; ordinal order is what `sort` gives.
        var width = values.Keys.Max(k => k.Length);
        foreach (var (name, value) in values.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            await output.WriteLineAsync($"  {name.PadRight(width)}  {value}").ConfigureAwait(false);
        }
    }
}
