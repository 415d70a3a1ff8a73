using Ballast.Simulation.Runtime;

namespace Ballast.Simulation.Network;

/// <summary>
/// One TCP connection between a frontend and a simulated server: bytes each way go over the link (delivered in order
/// after its latency, held by a partition, dropped by a blackhole); the server reads what arrived, unless it is paused,
/// and answers; either side's close or a reset reaches the other over the link too.
/// </summary>
internal sealed class SimulatedConnection
{
    private readonly SimulationLoop _loop;
    private readonly Queue<(byte[] Bytes, long SentAt)> _heldUp = new();
    private readonly Queue<byte[]> _heldDown = new();
    private long _lastUpArrival;
    private long _lastDownArrival;
    private bool _resetHeldDown;

    public SimulatedConnection(SimulationLoop loop, Link link, ServerProcess server, int id)
    {
        _loop = loop;
        Link = link;
        Server = server;
        Id = id;
        Incarnation = server.Memcached.Incarnation;
        Client = new ClientStream(this, loop);
    }

    public int Id { get; }

    public Link Link { get; }

    public ServerProcess Server { get; }

    /// <summary>The server process incarnation this connection was accepted by.</summary>
    public int Incarnation { get; }

    public ClientStream Client { get; }

    /// <summary>Bytes that arrived at the server and are not yet read (a paused server reads them on resume).</summary>
    public List<byte> ServerInput { get; } = [];

    /// <summary>When the client sent the latest bytes that reached the server.</summary>
    public long LastSentAt { get; set; }

    /// <summary>The server side is gone: it closed, was reset, or its process died.</summary>
    public bool ServerClosed { get; private set; }

    /// <summary>The client wrote <paramref name="bytes"/>.</summary>
    public void ClientWrite(byte[] bytes)
    {
        switch (Link.Up)
        {
            case LinkMode.Drop:
                return;
            case LinkMode.Hold:
                _heldUp.Enqueue((bytes, _loop.Now));
                return;
            default:
                SendUp(bytes, _loop.Now);
                return;
        }
    }

    /// <summary>The server answered with <paramref name="bytes"/>.</summary>
    public void ServerWrite(byte[] bytes)
    {
        if (ServerClosed || bytes.Length == 0)
        {
            return;
        }

        switch (Link.Down)
        {
            case LinkMode.Drop:
                return;
            case LinkMode.Hold:
                _heldDown.Enqueue(bytes);
                return;
            default:
                SendDown(bytes);
                return;
        }
    }

    /// <summary>
    /// The client closed (Ballast closes with a reset): what it had not yet got through is discarded, and the reset
    /// reaches the server if the link lets it. Bytes the server already received are still read (a paused server
    /// applies them on resume), as a real server reads its receive queue before it sees the reset.
    /// </summary>
    public void ClientClosed()
    {
        _heldUp.Clear();
        Link.Detach(this);
        if (Link.Up == LinkMode.Pass)
        {
            _loop.At(Arrival(ref _lastUpArrival), static c => c.CloseServerSide(), this, "network");
        }
    }

    /// <summary>A reset on the path (the proxy's reset, an abort): both ends see it at once.</summary>
    public void Reset()
    {
        CloseServerSide();
        Client.PeerReset();
        Link.Detach(this);
    }

    /// <summary>The server's process died: the client sees a reset when it reaches it over the link.</summary>
    public void ServerDied()
    {
        ServerClosed = true;
        ServerInput.Clear();
        switch (Link.Down)
        {
            case LinkMode.Pass:
                _loop.At(Arrival(ref _lastDownArrival), static c => c.Client.PeerReset(), this, "network");
                break;
            case LinkMode.Hold:
                _resetHeldDown = true;
                break;
        }
    }

    /// <summary>A partition lifted: what it held goes on, in order.</summary>
    public void ReleaseHeld()
    {
        if (Link.Up == LinkMode.Pass)
        {
            while (_heldUp.TryDequeue(out var held))
            {
                SendUp(held.Bytes, held.SentAt);
            }
        }

        if (Link.Down == LinkMode.Pass)
        {
            while (_heldDown.TryDequeue(out var held))
            {
                SendDown(held);
            }

            if (_resetHeldDown)
            {
                _resetHeldDown = false;
                _loop.At(Arrival(ref _lastDownArrival), static c => c.Client.PeerReset(), this, "network");
            }
        }
    }

    /// <summary>Drops what a blackhole swallows: bytes held by a partition that became a blackhole.</summary>
    public void DropHeld()
    {
        if (Link.Up == LinkMode.Drop)
        {
            _heldUp.Clear();
        }

        if (Link.Down == LinkMode.Drop)
        {
            _heldDown.Clear();
        }
    }

    private void SendUp(byte[] bytes, long sentAt)
        => _loop.At(Arrival(ref _lastUpArrival), static s => s.Connection.Server.Receive(s.Connection, s.Bytes, s.SentAt), (Connection: this, Bytes: bytes, SentAt: sentAt), "network");

    private void SendDown(byte[] bytes)
        => _loop.At(Arrival(ref _lastDownArrival), static s => s.Connection.Client.Deliver(s.Bytes), (Connection: this, Bytes: bytes), "network");

    private long Arrival(ref long last)
    {
        var at = Math.Max(_loop.Now + Link.SampleLatency(_loop.Random), last);
        last = at;
        return at;
    }

    private void CloseServerSide()
    {
        ServerClosed = true;
    }
}
