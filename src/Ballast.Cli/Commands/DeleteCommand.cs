using System.CommandLine;

namespace Ballast.Cli.Commands;

/// <summary><c>ballast delete KEY</c>: invalidates a key, reporting whether it was there.</summary>
internal sealed class DeleteCommand
{
    public static Command Create(CommonOptions common, CliConsole console)
    {
        var key = new Argument<string>("KEY") { Description = "The key to delete." };
        var command = new Command(
            "delete",
            "Deletes KEY. Exits 0 when deleted, 1 when there was no such key, 3 when its server could not confirm " +
            "(the server is then fenced for every frontend, so the old value cannot be read, but the delete itself is unconfirmed).")
        {
            key,
        };

        CliAction.Set(command, console, async (parseResult, cancellationToken) =>
        {
            var name = parseResult.GetValue(key)!;
            await using var client = common.CreateClient(parseResult);
            DeleteStatus status;
            try
            {
                status = await client.DeleteAsync(name, cancellationToken).ConfigureAwait(false);
            }
            catch (ServerUnavailableException)
            {
                // The library's message promises that its journal keeps retrying; this process is about to exit and
                // takes the journal with it, so say what the user actually has to know.
                var why = await PoolHealth.WhyNotUpAsync(client, client.Locate(name), ServerState.Down, cancellationToken).ConfigureAwait(false);
                throw new CliException(
                    ExitCodes.ServerError,
                    $"delete of '{name}' failed: {why} It could not be fenced either (no majority of the pool answered): the old value may be readable when it returns.");
            }

            switch (status)
            {
                case DeleteStatus.Deleted:
                    return ExitCodes.Success;
                case DeleteStatus.NotFound:
                    // An answer, not an error: the same form as get's "miss: KEY".
                    await console.Error.WriteLineAsync($"not found: {name}").ConfigureAwait(false);
                    return ExitCodes.NotFound;
                default:
                    throw new CliException(
                        ExitCodes.ServerError,
                        $"delete of '{name}' unconfirmed: its server {client.Locate(name)} did not answer and was fenced (marked down for every frontend) instead.");
            }
        });
        return command;
    }
}
