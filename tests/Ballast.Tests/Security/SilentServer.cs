using System.Net;
using System.Net.Sockets;

namespace Ballast.Tests.Security;

/// <summary>
/// A server that accepts connections and never reads from them nor answers: the shape of a stalled or hostile server
/// whose receive window fills up. Connections are held until disposal.
/// </summary>
public sealed class SilentServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _accepted = [];

    public SilentServer()
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _ = AcceptAsync();
    }

    public ServerEndPoint EndPoint => new("127.0.0.1", ((IPEndPoint)_listener.LocalEndpoint).Port);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        lock (_accepted)
        {
            _accepted.ForEach(s => s.Dispose());
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var socket = await _listener.AcceptSocketAsync(_stop.Token);
                socket.ReceiveBufferSize = 4096;
                lock (_accepted)
                {
                    _accepted.Add(socket);
                }
            }
            catch (Exception)
            {
                return;
            }
        }
    }
}
