using Ballast.Distribution;

namespace Ballast.Pool;

/// <summary>
/// The servers of one client, main then gutter (a node's index is its index in the shared view), and where keys go.
/// Nothing here knows of the shared view or of failover: this is what every other part of the pool stands on.
/// </summary>
internal sealed class ServerSet : IAsyncDisposable
{
    /// <summary>How long a server's TLS or login failure keeps failing operations before they try it again.</summary>
    private static readonly TimeSpan ConfigurationErrorHold = TimeSpan.FromSeconds(10);

    /// <param name="options">The client's options (servers, gutter, distribution).</param>
    /// <param name="time">The clock of every node.</param>
    /// <param name="onLocalFailure">Told when a node's own failure detection marks it down (the pool fences it).</param>
    public ServerSet(MemcachedClientOptions options, TimeProvider time, Action<ServerNode, ServerFailureReason, Exception?> onLocalFailure)
    {
        var main = options.Servers.ToArray();
        var gutter = options.FailoverPolicy == FailoverPolicy.Gutter ? options.Gutter.Servers.ToArray() : [];
        All = main.Concat(gutter).Select((endPoint, index) => new ServerNode(index, endPoint, options, time, onLocalFailure)).ToArray();
        Main = All[..main.Length];
        Gutter = All[main.Length..];
        Locator = ServerLocatorFactory.Create(options.Distribution, options.PeclHash, main);
        GutterLocator = gutter.Length > 0 ? ServerLocatorFactory.Create(KeyDistribution.Ketama, options.PeclHash, gutter) : null;
    }

    /// <summary>Main servers then gutter servers; a node's index here is its index in the shared view.</summary>
    public ServerNode[] All { get; }

    public ServerNode[] Main { get; }

    public ServerNode[] Gutter { get; }

    public IServerLocator Locator { get; }

    public IServerLocator? GutterLocator { get; }

    /// <summary>The main server that owns a key.</summary>
    public ServerNode Primary(ReadOnlySpan<byte> keyUtf8) => Main.Length == 1 ? Main[0] : Main[Locator.Locate(keyUtf8)];

    /// <summary>The node of <paramref name="server"/>, or null when it is not in the pool.</summary>
    public ServerNode? Find(ServerEndPoint server)
        => All.FirstOrDefault(n => n.EndPoint == server || n.EndPoint.ToString() == server.ToString());

    /// <summary>The node whose address prints as <paramref name="server"/> (as journals name them), or null.</summary>
    public ServerNode? Find(string server) => All.FirstOrDefault(n => n.EndPoint.ToString() == server);

    /// <summary>
    /// Throws a fresh copy of a recent TLS or login failure of any server of the pool (see
    /// <see cref="ServerNode.RecentConfigurationError"/>): a pool that cannot authenticate is misconfigured, and its
    /// callers must hear so rather than read misses.
    /// </summary>
    public void ThrowIfMisconfigured()
    {
        foreach (var node in All)
        {
            if (node.RecentConfigurationError(ConfigurationErrorHold) is { } error)
            {
                throw Connections.CommandFailure.Copy(error, node.EndPoint, error.Message);
            }
        }
    }

    /// <summary>
    /// Lets the connection attempts under way end (at most <paramref name="limit"/>), so a TLS or login failure that
    /// is still being found out is reported as such, not as a down server.
    /// </summary>
    public Task SettleConnectsAsync(TimeSpan limit, TimeProvider time)
        => Task.WhenAll(All.Select(n => n.SettleConnectsAsync(limit, time)));

    public async ValueTask DisposeAsync()
    {
        foreach (var node in All)
        {
            await node.DisposeAsync().ConfigureAwait(false);
        }
    }
}
