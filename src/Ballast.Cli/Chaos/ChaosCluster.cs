using Ballast.FaultInjection;

namespace Ballast.Cli.Chaos;

/// <summary>
/// The servers of one policy's run: S memcached processes (and a gutter server when asked), and F×S fault proxies,
/// one per frontend per server, so a fault can cut one frontend's link to one server. Disposal kills everything.
/// </summary>
public sealed class ChaosCluster : IAsyncDisposable
{
    private ChaosCluster(MemcachedProcess[] servers, MemcachedProcess? gutter, FaultProxy[][] links, FaultProxy[]? gutterLinks)
    {
        Servers = servers;
        Gutter = gutter;
        Links = links;
        GutterLinks = gutterLinks;
    }

    /// <summary>The main servers.</summary>
    public IReadOnlyList<MemcachedProcess> Servers { get; }

    /// <summary>The gutter server, if any.</summary>
    public MemcachedProcess? Gutter { get; }

    /// <summary><c>Links[f][s]</c>: frontend f's proxy to server s.</summary>
    public IReadOnlyList<FaultProxy[]> Links { get; }

    /// <summary><c>GutterLinks[f]</c>: frontend f's proxy to the gutter server.</summary>
    public IReadOnlyList<FaultProxy>? GutterLinks { get; }

    /// <summary>Starts the servers and proxies on free loopback ports.</summary>
    public static async Task<ChaosCluster> StartAsync(int servers, int frontends, bool gutter, CancellationToken ct)
    {
        var processes = new List<MemcachedProcess>();
        var proxies = new List<FaultProxy>();
        try
        {
            for (var s = 0; s < servers + (gutter ? 1 : 0); s++)
            {
                processes.Add(await MemcachedProcess.StartAsync(new MemcachedProcessOptions { Threads = 2 }, ct).ConfigureAwait(false));
            }

            var links = new FaultProxy[frontends][];
            FaultProxy[]? gutterLinks = gutter ? new FaultProxy[frontends] : null;
            for (var f = 0; f < frontends; f++)
            {
                links[f] = new FaultProxy[servers];
                for (var s = 0; s < servers; s++)
                {
                    links[f][s] = FaultProxy.Start(processes[s].Host, processes[s].Port);
                    proxies.Add(links[f][s]);
                }

                if (gutterLinks is not null)
                {
                    gutterLinks[f] = FaultProxy.Start(processes[servers].Host, processes[servers].Port);
                    proxies.Add(gutterLinks[f]);
                }
            }

            return new ChaosCluster(processes.Take(servers).ToArray(), gutter ? processes[servers] : null, links, gutterLinks);
        }
        catch
        {
            foreach (var proxy in proxies)
            {
                await proxy.DisposeAsync().ConfigureAwait(false);
            }

            foreach (var process in processes)
            {
                await process.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
    }

    /// <summary>The main servers' own endpoints: what every frontend configures, so all agree on key placement.</summary>
    public IEnumerable<ServerEndPoint> ServerEndPoints => Servers.Select(p => new ServerEndPoint(p.Host, p.Port));

    /// <summary>The gutter server's own endpoint, when there is one.</summary>
    public ServerEndPoint? GutterEndPoint => Gutter is { } g ? new ServerEndPoint(g.Host, g.Port) : null;

    /// <summary>Index of a server by its own endpoint: main servers first, then the gutter server.</summary>
    public int IndexOf(ServerEndPoint endPoint)
    {
        for (var s = 0; s < Servers.Count; s++)
        {
            if (Servers[s].Port == endPoint.Port && Servers[s].Host == endPoint.Host)
            {
                return s;
            }
        }

        return Servers.Count;
    }

    /// <summary>
    /// Where frontend <paramref name="frontend"/> connects for a server: through its own proxy. Used as the client's
    /// <see cref="MemcachedClientOptions.ConnectVia"/>, so a fault can cut one frontend's link to one server.
    /// </summary>
    public ServerEndPoint RouteFor(int frontend, ServerEndPoint server)
    {
        var index = IndexOf(server);
        var proxy = index < Servers.Count ? Links[frontend][index] : GutterLinks![frontend];
        return new ServerEndPoint(proxy.Host, proxy.Port);
    }

    /// <summary>Resumes paused servers, lifts every proxy fault, then stops everything.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var proxy in Links.SelectMany(l => l).Concat(GutterLinks ?? []))
        {
            await proxy.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var process in Servers.Append(Gutter))
        {
            if (process is null)
            {
                continue;
            }

            try
            {
                if (process.IsPaused)
                {
                    process.Resume();
                }
            }
#pragma warning disable CA1031 // Teardown goes on; the kill below is what matters.
            catch (Exception)
#pragma warning restore CA1031
            {
            }

            await process.DisposeAsync().ConfigureAwait(false);
        }
    }
}
