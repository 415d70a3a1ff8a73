namespace Ballast.Cli;

/// <summary>
/// Tells a real miss from a miss the client made up. Ballast turns a down, fenced or unconfirmed server into misses
/// (a miss only costs the application a database read), but a person asking <c>ballast get</c> must not be told a
/// key is absent when its server was never asked.
/// </summary>
internal static class PoolHealth
{
    /// <summary>
    /// Throws a server error (exit 3) when a miss for <paramref name="key"/> cannot be trusted: its home server is not
    /// up in this client's view (refused, reset, fenced by another frontend, or not yet readmitted), or the client
    /// could not read the shared view from a majority of servers, in which case every read is a miss by design.
    /// </summary>
    /// <remarks>
    /// Checked after the miss rather than with a <c>version</c> round trip before every read: the check costs nothing
    /// on a hit, and it looks at the one server that owns the key, whereas <c>VersionAsync</c> fails when any server
    /// of the pool is down, even one the key does not live on. The read itself is what marks a refusing server down,
    /// so the state is current when it is checked. Known gap: a single timeout does not mark a server down (three in a
    /// row do, by default), so a stalled server's first timed-out read still reads as a miss.
    /// </remarks>
    public static void ThrowIfMissUntrustworthy(MemcachedClient client, string key)
    {
        var home = client.Locate(key);
        var state = client.GetServerState(home);
        if (state != ServerState.Up)
        {
            throw new CliException(ExitCodes.ServerError, $"cannot read '{key}': its server {home} is {Describe(state)}.");
        }

        if (!client.IsSharedViewFresh)
        {
            throw new CliException(
                ExitCodes.ServerError,
                $"cannot read '{key}': the pool's shared view could not be read from a majority of its servers, so reads are misses until it can (is the pool reachable?).");
        }
    }

    private static string Describe(ServerState state) => state switch
    {
        ServerState.Down => "down (unreachable or fenced)",
        ServerState.Probing => "down (being probed)",
        ServerState.Recovering => "recovering (reachable, not yet readmitted)",
        _ => state.ToString(),
    };
}
