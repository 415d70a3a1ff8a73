using System.CommandLine;
using System.Text.Json;

namespace Ballast.Cli.Commands;

/// <summary>
/// <c>ballast locate KEY...</c>: which server each key lives on under the chosen distribution, computed locally. The
/// question to ask when PHP and .NET frontends disagree, so it must give the client's answer, not a re-implementation.
/// </summary>
internal sealed class LocateCommand
{
    public static Command Create(CommonOptions common, CliConsole console)
    {
        var keys = new Argument<string[]>("KEY")
        {
            Description = "Keys to locate; without any, keys are read from standard input, one per line.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var json = new Option<bool>("--json") { Description = "Print [{\"key\": ..., \"server\": \"host:port\"}] instead of 'KEY<TAB>host:port' lines." };
        var command = new Command("locate", "Prints the server each key maps to, one 'KEY<TAB>host:port' line per key. Needs no network.")
        {
            keys,
            json,
        };

        CliAction.Set(command, console, async (parseResult, cancellationToken) =>
        {
            var names = parseResult.GetValue(keys) is { Length: > 0 } given
                ? given
                : await ReadKeysAsync(console, cancellationToken).ConfigureAwait(false);

            // Without the shared view the client opens no connection at all: Locate only hashes.
            await using var client = common.CreateClient(parseResult, options => options.SharedView.Enabled = false);

            // Every key is located before anything is printed, so an invalid key fails the command without half an answer.
            var located = names.Select(name => (Key: name, Server: client.Locate(name).ToString())).ToList();
            if (parseResult.GetValue(json))
            {
                await WriteJsonAsync(console, located, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                foreach (var (key, server) in located)
                {
                    await console.OutputText.WriteLineAsync($"{key}\t{server}").ConfigureAwait(false);
                }
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static async Task<string[]> ReadKeysAsync(CliConsole console, CancellationToken cancellationToken)
    {
        if (!console.IsInputRedirected)
        {
            throw new CliException(ExitCodes.Usage, "locate: no KEY given and standard input is a terminal; pass keys or pipe them in, one per line.");
        }

        using var reader = new StreamReader(console.Input, leaveOpen: true);
        var text = await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);

        // Blank lines (a trailing newline, say) are not keys; '\r' is dropped so Windows-made files work.
        return text.Split('\n').Select(line => line.TrimEnd('\r')).Where(line => line.Length > 0).ToArray();
    }

    private static async Task WriteJsonAsync(CliConsole console, List<(string Key, string Server)> located, CancellationToken cancellationToken)
    {
        await console.OutputText.FlushAsync(cancellationToken).ConfigureAwait(false);
        await using (var writer = new Utf8JsonWriter(console.Output))
        {
            writer.WriteStartArray();
            foreach (var (key, server) in located)
            {
                writer.WriteStartObject();
                writer.WriteString("key", key);
                writer.WriteString("server", server);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        await console.OutputText.WriteLineAsync().ConfigureAwait(false);
    }
}
