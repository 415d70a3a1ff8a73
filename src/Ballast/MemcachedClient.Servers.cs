using Ballast.Pool;
using Ballast.Protocol.Commands;

namespace Ballast;

/// <summary>Server-wide commands and server state.</summary>
public sealed partial class MemcachedClient
{
    /// <summary>The server a key maps to under the pool's distribution (its home, whatever its state).</summary>
    /// <exception cref="InvalidCacheKeyException">The key breaks memcached's rules.</exception>
    public ServerEndPoint Locate(string key)
    {
        Span<byte> utf8 = stackalloc byte[Protocol.CacheKey.MaxLength];
        return _pool.Servers.Primary(ValidKey(key).GetUtf8(utf8)).EndPoint;
    }

    /// <summary>This frontend's view of a server's state.</summary>
    /// <exception cref="ArgumentException">The server is not in the pool.</exception>
    public ServerState GetServerState(ServerEndPoint server) => _pool.Access.StateOf(Node(server));

    /// <summary>The epoch of a server's record in this frontend's copy of the shared view (tests write journals with it).</summary>
    internal long ViewEpochOf(ServerEndPoint server) => _pool.View[Node(server).Index].Epoch;

    /// <summary>Whether this frontend knows its fence of <paramref name="server"/> is held for every frontend (tests wait for it).</summary>
    internal bool IsFencedForEveryone(ServerEndPoint server) => _pool.Access.IsFencedForEveryone(Node(server));

    /// <summary>Flushes every main server (<c>flush_all</c>), optionally after <paramref name="delay"/>.</summary>
    /// <exception cref="MemcachedException">Some servers could not be flushed; the message names them.</exception>
    public async Task FlushAllAsync(TimeSpan? delay = null, CancellationToken cancellationToken = default)
    {
        var seconds = delay is { } d ? (long)Math.Ceiling(d.TotalSeconds) : 0;
        var failures = await EachServerAsync(node => node.ExecuteAsync(TextCommand.FlushAll(seconds), cancellationToken).AsTask()).ConfigureAwait(false);
        ThrowIfAnyFailed("flush", failures);
    }

    /// <summary>Each main server's version string.</summary>
    public async Task<IReadOnlyDictionary<ServerEndPoint, string>> VersionAsync(CancellationToken cancellationToken = default)
    {
        var results = await EachServerAsync(node => node.ExecuteAsync(TextCommand.Version(), cancellationToken).AsTask()).ConfigureAwait(false);
        ThrowIfAnyFailed("version", results);
        return results.ToDictionary(r => r.Server, r => r.Value!["version"]);
    }

    /// <summary>Each main server's <c>stats</c>; a server that does not answer is listed with its error.</summary>
    public async Task<IReadOnlyList<ServerStatistics>> StatsAsync(CancellationToken cancellationToken = default)
    {
        var results = await EachServerAsync(node => node.ExecuteAsync(TextCommand.Stats(), cancellationToken, evenIfDown: true).AsTask()).ConfigureAwait(false);
        return results.Select(r => new ServerStatistics(r.Server, r.Value, r.Error)).ToList();
    }

    private ServerNode Node(ServerEndPoint server)
        => _pool.Servers.All.FirstOrDefault(n => n.EndPoint == server || n.EndPoint.ToString() == server.ToString())
           ?? throw new ArgumentException($"Server {server} is not in this pool.", nameof(server));

    private async Task<List<(ServerEndPoint Server, IReadOnlyDictionary<string, string>? Value, string? Error)>> EachServerAsync(
        Func<ServerNode, Task<IReadOnlyDictionary<string, string>>> action)
    {
        var tasks = _pool.Servers.Main.Select(async node =>
        {
            try
            {
                return (node.EndPoint, (IReadOnlyDictionary<string, string>?)await action(node).ConfigureAwait(false), (string?)null);
            }
            catch (MemcachedException error)
            {
                return (node.EndPoint, null, error.Message);
            }
        });
        return [.. await Task.WhenAll(tasks).ConfigureAwait(false)];
    }

    private static void ThrowIfAnyFailed(string what, List<(ServerEndPoint Server, IReadOnlyDictionary<string, string>? Value, string? Error)> results)
    {
        var failed = results.Where(r => r.Error is not null).ToList();
        if (failed.Count > 0)
        {
            throw new MemcachedException($"The {what} failed on {failed.Count} of {results.Count} servers: {string.Join("; ", failed.Select(f => f.Error))}", failed[0].Server);
        }
    }
}
