using System.Net.Sockets;
using Ballast.Simulation.Runtime;

namespace Ballast.Simulation.Network;

/// <summary>
/// The links between every frontend and every server, and the servers' processes: opens connections as TCP would
/// (after a round trip; refused by a dead server; never answered across a partition or a blackhole until it lifts),
/// and applies the faults of a run to links and processes.
/// </summary>
internal sealed class SimulatedNetwork
{
    private readonly SimulationLoop _loop;
    private readonly Link[,] _links;
    private readonly ServerProcess[] _servers;
    private int _nextConnection;

    public SimulatedNetwork(SimulationLoop loop, Link[,] links, ServerProcess[] servers)
    {
        _loop = loop;
        _links = links;
        _servers = servers;
    }

    public ServerProcess Server(int index) => _servers[index];

    public Link Link(int frontend, int server) => _links[frontend, server];

    public int ServerCount => _servers.Length;

    public int FrontendCount => _links.GetLength(0);

    /// <summary>Opens a connection from <paramref name="frontend"/> to <paramref name="server"/>.</summary>
    public Task<Stream> ConnectAsync(int frontend, int server, CancellationToken cancellationToken)
    {
        _loop.CheckThread("transport.Connect");
        var link = _links[frontend, server];
        var process = _servers[server];
        var opened = new TaskCompletionSource<Stream>();
        var registration = cancellationToken.Register(static s => ((TaskCompletionSource<Stream>)s!).TrySetCanceled(), opened);
        _ = opened.Task.ContinueWith(static (_, r) => ((CancellationTokenRegistration)r!).Dispose(), registration, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        TryConnect(link, process, opened);
        return opened.Task;
    }

    /// <summary>A connection attempt: the SYN crosses the link up, the answer (SYN-ACK, or a refusal) crosses it down.</summary>
    private void TryConnect(Link link, ServerProcess process, TaskCompletionSource<Stream> opened)
    {
        if (opened.Task.IsCompleted)
        {
            return;
        }

        if (link.Up != LinkMode.Pass || link.Down != LinkMode.Pass)
        {
            // Lost, or held until the partition lifts (TCP retries its SYN); the connect timeout decides.
            if (link.Up != LinkMode.Drop && link.Down != LinkMode.Drop)
            {
                _loop.After(TimeSpan.FromMilliseconds(200), () => TryConnect(link, process, opened), "network");
            }

            return;
        }

        var roundTrip = link.SampleLatency(_loop.Random) + link.SampleLatency(_loop.Random);
        _loop.At(_loop.Now + roundTrip, static s => s.Network.Complete(s.Link, s.Process, s.Opened), (Network: this, Link: link, Process: process, Opened: opened), "network");
    }

    private void Complete(Link link, ServerProcess process, TaskCompletionSource<Stream> opened)
    {
        if (opened.Task.IsCompleted)
        {
            return;
        }

        if (process.State == ProcessState.Dead)
        {
            opened.TrySetException(new SocketException((int)SocketError.ConnectionRefused));
            return;
        }

        var connection = new SimulatedConnection(_loop, link, process, ++_nextConnection);
        link.Attach(connection);
        process.Accept(connection);
        if (!opened.TrySetResult(connection.Client))
        {
            connection.Reset();
            return;
        }

        if (link.Resetting)
        {
            connection.Reset();
        }
    }

    /// <summary>Sets a direction's mode on a link, releasing or dropping what a lifted partition held.</summary>
    public void SetLink(int frontend, int server, LinkMode up, LinkMode down)
    {
        var link = _links[frontend, server];
        link.Up = up;
        link.Down = down;
        foreach (var connection in link.Connections.ToArray())
        {
            connection.DropHeld();
            connection.ReleaseHeld();
        }
    }

    /// <summary>Resets every connection on a link.</summary>
    public void ResetLink(int frontend, int server)
    {
        foreach (var connection in _links[frontend, server].Connections.ToArray())
        {
            connection.Reset();
        }
    }
}
