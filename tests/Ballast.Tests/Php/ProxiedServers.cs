using Ballast.FaultInjection;
using Ballast.Pool;
using Ballast.SharedView;

namespace Ballast.Tests.Php;

/// <summary>
/// Real memcached servers, each behind two fault proxies: every frontend names the first as the server (so .NET and
/// PHP agree on placement and the pool's name), PHP connects to it, and the .NET frontends connect through the second
/// (<see cref="MemcachedClientOptions.ConnectVia"/>). Blackholing one cuts only PHP's or only .NET's link, and what it
/// drops never lands (unlike a paused server, which applies its sockets' backlog when it resumes). Stopped at disposal.
/// </summary>
internal sealed class ProxiedServers : IAsyncDisposable
{
    private readonly List<MemcachedProcess> _servers = [];
    private readonly List<FaultProxy> _proxies = [];
    private readonly List<FaultProxy> _dotnetProxies = [];

    public IReadOnlyList<MemcachedProcess> Servers => _servers;

    /// <summary>PHP's links (and the servers' names).</summary>
    public IReadOnlyList<FaultProxy> Proxies => _proxies;

    /// <summary>The .NET frontends' links.</summary>
    public IReadOnlyList<FaultProxy> DotNetProxies => _dotnetProxies;

    public int Count => _servers.Count;

    /// <summary>The servers as the frontends name them: the proxies.</summary>
    public IReadOnlyList<ServerEndPoint> EndPoints => _proxies.Select(p => new ServerEndPoint(p.Host, p.Port)).ToArray();

    public string List => string.Join(',', EndPoints.Select(e => e.ToString()));

    public static async Task<ProxiedServers> StartAsync(int count)
    {
        var pool = new ProxiedServers();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var server = await MemcachedProcess.StartAsync(new MemcachedProcessOptions { Threads = 1 });
                pool._servers.Add(server);
                pool._proxies.Add(FaultProxy.Start(server.Host, server.Port));
                pool._dotnetProxies.Add(FaultProxy.Start(server.Host, server.Port));
            }
        }
        catch
        {
            await pool.DisposeAsync();
            throw;
        }

        return pool;
    }

    /// <summary>Where a .NET frontend connects for a server it names.</summary>
    public ServerEndPoint ConnectVia(ServerEndPoint named)
    {
        var proxy = _dotnetProxies[_proxies.FindIndex(p => p.Port == named.Port)];
        return new ServerEndPoint(proxy.Host, proxy.Port);
    }

    /// <summary>Cuts (blackholes) or restores PHP's link, .NET's link, or both, to server <paramref name="index"/>.</summary>
    public void Cut(int index, bool php, bool dotnet)
    {
        _proxies[index].SetMode(php ? ProxyFaultMode.Blackhole : ProxyFaultMode.Pass);
        _dotnetProxies[index].SetMode(dotnet ? ProxyFaultMode.Blackhole : ProxyFaultMode.Pass);
    }

    /// <summary>The indexes of the servers that hold the view's records, as the library chooses them.</summary>
    public int[] Witnesses()
    {
        var options = new MemcachedClientOptions();
        var nodes = EndPoints.Select((e, i) => new ServerNode(i, e, options, TimeProvider.System, (_, _, _) => { })).ToArray();
        return MemcachedViewStore.ChooseWitnesses(nodes).Select(n => n.Index).ToArray();
    }

    /// <summary>A server that holds no view record (pools of four and more have one).</summary>
    public int NonWitness() => Enumerable.Range(0, Count).Except(Witnesses()).First();

    public async ValueTask DisposeAsync()
    {
        foreach (var proxy in _proxies.Concat(_dotnetProxies))
        {
            await proxy.DisposeAsync();
        }

        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }
    }
}
