using Ballast.Pool;
using Ballast.SharedView;
using Ballast.Tests.Support;

namespace Ballast.Tests.SharedView;

/// <summary>
/// Real memcached servers and a <see cref="ServerNode"/> for each, for tests that drive <see cref="ViewProtocol"/> and
/// its store directly, as several frontends of one pool. Everything is stopped at disposal.
/// </summary>
internal sealed class ViewProtocolHarness : IAsyncDisposable
{
    private readonly MemcachedServers _servers;

    private ViewProtocolHarness(MemcachedServers servers, ServerNode[] nodes)
    {
        _servers = servers;
        Nodes = nodes;
    }

    public ServerNode[] Nodes { get; }

    public static async Task<ViewProtocolHarness> StartAsync(int serverCount)
    {
        var servers = await MemcachedServers.StartAsync(serverCount);
        var options = new MemcachedClientOptions();
        return new ViewProtocolHarness(servers, [.. servers.EndPoints.Select((e, i) => new ServerNode(i, e, options, TimeProvider.System, (_, _, _) => { }))]);
    }

    /// <summary>The pool's view kept on these servers, as the client keeps it (every server a witness).</summary>
    public MemcachedViewStore Store(string poolName) => new(Nodes, [.. Nodes.Select(n => n.EndPoint)], poolName, TimeProvider.System);

    /// <summary>One frontend's view protocol over <paramref name="store"/>: bound 1 s, lock time to live 10 s.</summary>
    public ViewProtocol Protocol(MemcachedViewStore store, string frontend)
        => new(store, Nodes, frontend, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), TimeProvider.System);

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }

        await _servers.DisposeAsync();
    }
}
