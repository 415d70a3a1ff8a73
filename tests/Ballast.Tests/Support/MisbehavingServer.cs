using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Ballast.Tests.Support;

/// <summary>
/// An in-process server on loopback that answers meta requests through a script, for wire faults a real memcached
/// will not produce: wrong opaque tokens, garbage, late answers, a close in the middle of a value.
/// </summary>
public sealed class MisbehavingServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly Func<Request, Reply> _script;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _clients = [];
    private int _requests;
    private int _statsAnswered;

    public MisbehavingServer(Func<Request, Reply> script)
    {
        _script = script;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _ = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public int ConnectionsAccepted { get; private set; }

    /// <summary>
    /// The process id its <c>stats</c> gives. A <c>stats</c> that is a connection's first request (the client sends one
    /// ahead of a new connection's first request, to check that it reached the same life of the server) is answered
    /// here, outside the script and its request numbers; changing this between connections plays a restart. Later
    /// <c>stats</c> go to the script.
    /// </summary>
    public long ProcessId { get; set; } = 4242;

    /// <summary>How many <c>stats</c> it answered.</summary>
    public int StatsAnswered => Volatile.Read(ref _statsAnswered);

    public ServerEndPoint EndPoint => new("127.0.0.1", Port);

    /// <summary>
    /// Options for a client of this server alone: one connection (so answers come in request order across calls) and
    /// no shared view (the script answers data requests only).
    /// </summary>
    public MemcachedClientOptions ClientOptions(TimeSpan operationTimeout)
    {
        var options = new MemcachedClientOptions { ConnectionsPerServer = 1, OperationTimeout = operationTimeout };
        options.Servers.Add(EndPoint);
        options.SharedView.Enabled = false;
        return options;
    }

    /// <summary>
    /// A server whose first request gets <paramref name="first"/>'s answer and every later one a well-formed
    /// <see cref="Echo"/>: the shape of most wire-fault tests (one fault, then the client must be correct again).
    /// </summary>
    public static MisbehavingServer FirstThenEcho(Func<Request, Reply> first)
        => new(request => request.Number == 1 ? first(request) : new Reply(Echo(request)));

    /// <summary>A well-formed answer to a meta request: a hit whose value is the key, echoing the opaque.</summary>
    public static string Echo(Request request) => request.Command switch
    {
        "mg" => $"VA {request.Key.Length} f0 c1 O{request.Opaque}\r\n{request.Key}\r\n",
        "ms" or "md" => $"HD O{request.Opaque}\r\n",
        "mn" => "MN\r\n",
        "version" => "VERSION 1.6.99-misbehaving\r\n",
        _ => "ERROR\r\n",
    };

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        lock (_clients)
        {
            _clients.ForEach(c => c.Dispose());
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
            catch (Exception)
            {
                return;
            }

            ConnectionsAccepted++;
            lock (_clients)
            {
                _clients.Add(client);
            }

            _ = ServeAsync(client, ConnectionsAccepted);
        }
    }

    private async Task ServeAsync(TcpClient client, int connection)
    {
        try
        {
            var stream = client.GetStream();
            var reader = new StreamReader(stream, Encoding.ASCII);
            var first = true;
            while (!_stop.IsCancellationRequested && await reader.ReadLineAsync(_stop.Token) is { } line)
            {
                var parts = line.Split(' ');
                if (parts[0] == "ms")
                {
                    var size = int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture);
                    var data = new char[size + 2];
                    await reader.ReadBlockAsync(data, _stop.Token);
                }

                var startCheck = first && line == "stats";
                first = false;
                if (startCheck)
                {
                    Interlocked.Increment(ref _statsAnswered);
                    await stream.WriteAsync(Encoding.ASCII.GetBytes($"STAT pid {ProcessId}\r\nSTAT uptime 100\r\nSTAT time {1_800_000_100 + ProcessId}\r\nEND\r\n"), _stop.Token);
                    continue;
                }

                var opaque = parts.FirstOrDefault(p => p.StartsWith('O'))?[1..] ?? string.Empty;
                var request = new Request(parts[0], parts.Length > 1 ? parts[1] : string.Empty, opaque, Interlocked.Increment(ref _requests), connection, line);
                var reply = _script(request);
                if (reply.Delay > TimeSpan.Zero)
                {
                    await Task.Delay(reply.Delay, _stop.Token);
                }

                if (reply.Text is not null)
                {
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(reply.Text), _stop.Token);
                }

                if (reply.CloseAfter)
                {
                    client.Client.Close(0);
                    return;
                }
            }
        }
        catch (Exception)
        {
            // The client went away or the test ended.
        }
    }

    /// <summary>One request as the script sees it.</summary>
    public sealed record Request(string Command, string Key, string Opaque, int Number, int Connection, string Line);

    /// <summary>What to send back, after how long, and whether to close the connection afterwards.</summary>
    public sealed record Reply(string? Text, TimeSpan Delay = default, bool CloseAfter = false);
}
