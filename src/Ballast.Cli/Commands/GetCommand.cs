using System.CommandLine;

namespace Ballast.Cli.Commands;

/// <summary>
/// <c>ballast get KEY</c>: writes the value's bytes to standard output, untouched, so binary values survive pipes; on a
/// terminal its control characters are escaped (<see cref="TerminalText"/>) unless <c>--raw</c>.
/// </summary>
internal sealed class GetCommand
{
    public static Command Create(CommonOptions common, CliConsole console)
    {
        var key = new Argument<string>("KEY") { Description = "The key to read." };
        var command = new Command(
            "get",
            "Prints KEY's value exactly as stored: raw bytes, no newline added (on a terminal, control characters are shown as \\xNN unless --raw). A miss prints 'miss: KEY' on standard error and exits 1; " +
            "if KEY's server is down or unreachable it exits 3 instead, since that is no answer at all.")
        {
            key,
        };

        CliAction.Set(command, console, async (parseResult, cancellationToken) =>
        {
            var name = parseResult.GetValue(key)!;
            await using var client = common.CreateClient(parseResult);
            var result = await client.GetAsync(name, cancellationToken).ConfigureAwait(false);
            if (result.Value is { } value)
            {
                if (console.IsOutputTerminal && !parseResult.GetValue(common.Raw))
                {
                    value = System.Text.Encoding.UTF8.GetBytes(TerminalText.Escape(value));
                }

                await console.Output.WriteAsync(value, cancellationToken).ConfigureAwait(false);
                await console.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
                return ExitCodes.Success;
            }

            await PoolHealth.ThrowIfMissUntrustworthyAsync(client, name, cancellationToken).ConfigureAwait(false);
            await console.Error.WriteLineAsync($"miss: {name}").ConfigureAwait(false);
            return ExitCodes.NotFound;
        });
        return command;
    }
}
