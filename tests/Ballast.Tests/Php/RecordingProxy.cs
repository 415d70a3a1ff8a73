using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Ballast.Tests.Php;

/// <summary>
/// A loopback TCP proxy in front of a real server that records every request line a client sends through it (bytes
/// as Latin-1, one character per byte, split at LF with a trailing CR removed), in the order the lines complete, so a
/// test can see exactly which commands reached the server. Stopped at disposal.
/// </summary>
internal sealed class RecordingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<string> _lines = [];
    private readonly List<TcpClient> _sockets = [];
    private readonly Task _accepting;

    public RecordingProxy(string targetHost, int targetPort)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public string Host => "127.0.0.1";

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public string EndPoint => $"{Host}:{Port}";

    /// <summary>How many request lines have been recorded so far: a mark for <see cref="LinesSince"/>.</summary>
    public int LineCount
    {
        get
        {
            lock (_lines)
            {
                return _lines.Count;
            }
        }
    }

    /// <summary>The request lines recorded after <paramref name="mark"/>.</summary>
    public string[] LinesSince(int mark)
    {
        lock (_lines)
        {
            return [.. _lines.Skip(mark)];
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        lock (_sockets)
        {
            _sockets.ForEach(s => s.Dispose());
        }

        try
        {
            await _accepting;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }

            var server = new TcpClient();
            lock (_sockets)
            {
                _sockets.Add(client);
                _sockets.Add(server);
            }

            _ = ServeAsync(client, server);
        }
    }

    private async Task ServeAsync(TcpClient client, TcpClient server)
    {
        try
        {
            await server.ConnectAsync(_targetHost, _targetPort, _stop.Token);
            var upstream = PumpAsync(client.GetStream(), server.GetStream(), record: true);
            var downstream = PumpAsync(server.GetStream(), client.GetStream(), record: false);
            await Task.WhenAny(upstream, downstream);
        }
        catch (Exception)
        {
            // Either side went away, or the test ended.
        }
        finally
        {
            client.Dispose();
            server.Dispose();
        }
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to, bool record)
    {
        var buffer = new byte[16 * 1024];
        var line = new StringBuilder();
        int read;
        while ((read = await from.ReadAsync(buffer, _stop.Token)) > 0)
        {
            if (record)
            {
                foreach (var b in buffer.AsSpan(0, read))
                {
                    if (b != (byte)'\n')
                    {
                        line.Append((char)b);
                        continue;
                    }

                    var text = line.Length > 0 && line[^1] == '\r' ? line.ToString(0, line.Length - 1) : line.ToString();
                    line.Clear();
                    lock (_lines)
                    {
                        _lines.Add(text);
                    }
                }
            }

            await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
        }
    }
}
