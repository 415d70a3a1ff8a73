using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text;

namespace Ballast.Cli.Commands;

/// <summary><c>ballast set KEY [VALUE]</c>: stores VALUE, or standard input's bytes exactly when VALUE is left out.</summary>
internal sealed class SetCommand
{
    public static Command Create(CommonOptions common, CliConsole console)
    {
        var key = new Argument<string>("KEY") { Description = "The key to store." };
        var value = new Argument<string?>("VALUE")
        {
            Description = "The value, stored as UTF-8. Leave it out to store standard input's bytes exactly (binary-safe, no newline trimmed).",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var ttl = new Option<int>("--ttl")
        {
            Description = "Time to live in seconds; 0 (the default) for none.",
            HelpName = "seconds",
            CustomParser = ParseTtl,
        };

        var command = new Command("set", "Stores VALUE (or, without it, standard input) under KEY. Prints nothing on success; exits 3 if KEY's server is down or the outcome is unknown.")
        {
            key,
            value,
            ttl,
        };

        CliAction.Set(command, console, async (parseResult, cancellationToken) =>
        {
            var name = parseResult.GetValue(key)!;
            var bytes = parseResult.GetValue(value) is { } text
                ? Encoding.UTF8.GetBytes(text)
                : await ReadInputAsync(console, cancellationToken).ConfigureAwait(false);
            var seconds = parseResult.GetValue(ttl);

            await using var client = common.CreateClient(parseResult);
            StoreResult result;
            try
            {
                result = await client.SetAsync(name, bytes, seconds > 0 ? TimeSpan.FromSeconds(seconds) : null, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (ServerUnavailableException)
            {
                // A set that could not be sent is an invalidation of the old value, and that too failed: the library's
                // message promises that its journal keeps retrying, but this process exits and takes the journal with
                // it, so say what the user has to know.
                var why = await PoolHealth.WhyNotUpAsync(client, client.Locate(name), ServerState.Down, cancellationToken).ConfigureAwait(false);
                throw new CliException(
                    ExitCodes.ServerError,
                    $"not stored: '{name}': {why} Its old value could not be deleted or fenced either (no majority of the pool answered): it may be readable when the server returns.");
            }

            return result.Status switch
            {
                StoreStatus.Stored => ExitCodes.Success,
                StoreStatus.ServerDown => throw new CliException(ExitCodes.ServerError, $"not stored: '{name}': {await PoolHealth.WhyNotUpAsync(client, client.Locate(name), ServerState.Down, cancellationToken).ConfigureAwait(false)}"),
                _ => throw new CliException(ExitCodes.ServerError, $"not stored: '{name}' ({result.Status})."),
            };
        });
        return command;
    }

    private static int ParseTtl(ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "0";
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            result.AddError($"--ttl: '{text}' is not a whole number of seconds (0 or more).");
        }

        return seconds;
    }

    /// <summary>All of standard input, byte for byte. A terminal is refused: waiting on it would look like a hang.</summary>
    private static async Task<byte[]> ReadInputAsync(CliConsole console, CancellationToken cancellationToken)
    {
        if (!console.IsInputRedirected)
        {
            throw new CliException(ExitCodes.Usage, "set: no VALUE given and standard input is a terminal; pass VALUE or pipe the bytes in.");
        }

        using var buffer = new MemoryStream();
        await console.Input.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        return buffer.ToArray();
    }
}
