namespace Ballast.Cli;

/// <summary>
/// Tells a real miss from a miss the client made up, and says why a server gave no answer. Ballast turns a down,
/// fenced or unconfirmed server into misses (a miss only costs the application a database read), but a person asking
/// <c>ballast get</c> must not be told a key is absent when its server was never asked, and "unreachable" does not tell
/// a typo in the port from a name that does not resolve from a stalled server.
/// </summary>
internal static class PoolHealth
{
    /// <summary>
    /// Throws a server error (exit 3) when a miss for <paramref name="key"/> cannot be trusted: its home server is not
    /// up in this client's view (refused, unknown host, timed out, fenced by another frontend, or not yet readmitted),
    /// or the client could not read the shared view from a majority of servers, in which case every read is a miss by
    /// design. The message gives the cause.
    /// </summary>
    /// <remarks>
    /// Checked after the miss rather than with a <c>version</c> round trip before every read: the check costs nothing
    /// on a hit, and it looks at the one server that owns the key, whereas <c>VersionAsync</c> fails when any server
    /// of the pool is down, even one the key does not live on. The read itself is what marks a refusing server down,
    /// so the state is current when it is checked. Known gap: a single timeout does not mark a server down (three in a
    /// row do, by default), so a stalled server's first timed-out read still reads as a miss.
    /// </remarks>
    public static async Task ThrowIfMissUntrustworthyAsync(MemcachedClient client, string key, CancellationToken cancellationToken)
    {
        var home = client.Locate(key);
        var state = client.GetServerState(home);
        if (state != ServerState.Up)
        {
            throw new CliException(ExitCodes.ServerError, $"cannot read '{key}': {await WhyNotUpAsync(client, home, state, cancellationToken).ConfigureAwait(false)}");
        }

        if (!client.IsSharedViewFresh)
        {
            throw new CliException(
                ExitCodes.ServerError,
                $"cannot read '{key}': the pool's shared view could not be read from a majority of its servers, so reads are misses until it can. {await WhyUnreachableAsync(client, cancellationToken).ConfigureAwait(false)}");
        }
    }

    /// <summary>
    /// Why <paramref name="server"/> is not up, in words: the error it gives now, asked for its <c>stats</c> (sent even
    /// while it is held down): a refusal, an unknown host or a timeout, each in its own words. A server that answers is
    /// fenced or on its way back.
    /// </summary>
    public static async Task<string> WhyNotUpAsync(MemcachedClient client, ServerEndPoint server, ServerState state, CancellationToken cancellationToken)
    {
        var now = (await client.StatsAsync(cancellationToken).ConfigureAwait(false)).FirstOrDefault(s => s.Server == server);
        if (now?.Error is { } error)
        {
            return error;
        }

        return state == ServerState.Recovering
            ? $"its server {server} answers and is being readmitted (flushed first); try again in a moment."
            : $"its server {server} answers, but it is fenced in the pool's shared view (a frontend or the monitor marked it down); its keys are misses until it has been flushed and readmitted.";
    }

    /// <summary>The servers that give no answer now, each with its error; or that they all answer.</summary>
    private static async Task<string> WhyUnreachableAsync(MemcachedClient client, CancellationToken cancellationToken)
    {
        var failed = (await client.StatsAsync(cancellationToken).ConfigureAwait(false)).Where(s => s.Error is not null).Select(s => s.Error).ToList();
        return failed.Count == 0 ? "Every server answers now: try again." : string.Join(" ", failed);
    }
}
