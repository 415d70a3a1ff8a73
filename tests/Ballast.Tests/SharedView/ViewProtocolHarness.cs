using System.Text;
using Ballast.Pool;
using Ballast.SharedView;
using Ballast.Tests.FaultInjection;
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

    /// <summary>Sends one text command straight to server <paramref name="server"/>, past every client; returns its first answer line.</summary>
    public async Task<string?> RawAsync(int server, string command)
    {
        using var raw = await TextClient.ConnectAsync(Nodes[server].EndPoint.Host, Nodes[server].EndPoint.Port);
        return await raw.RequestAsync(command);
    }

    /// <summary>Reads <paramref name="key"/> straight from server <paramref name="server"/>: its flags and value, or null when it holds none.</summary>
    public async Task<(string Flags, string Value)?> RawGetAsync(int server, string key)
    {
        using var raw = await TextClient.ConnectAsync(Nodes[server].EndPoint.Host, Nodes[server].EndPoint.Port);
        if (await raw.RequestAsync($"get {key}\r\n") is not { } header || !header.StartsWith("VALUE ", StringComparison.Ordinal))
        {
            return null;
        }

        var fields = header.Split(' ');
        return (fields[2], await raw.ReadLineAsync() ?? string.Empty);
    }

    /// <summary>Server <paramref name="index"/>'s record in pool <paramref name="poolName"/> as replica <paramref name="replica"/> holds it (unsealed); null when it holds none.</summary>
    public async Task<ViewEntry?> RecordAsync(string poolName, int replica, int index)
        => await RawGetAsync(replica, $"ballast:{poolName}:view:{index}") is { } stored && ViewEntry.TryDecode(Encoding.ASCII.GetBytes(stored.Value), out var entry) ? entry : null;

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }

        await _servers.DisposeAsync();
    }
}
