using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;

namespace Ballast.Tests.Support;

/// <summary>
/// memcached's own log of the requests it serves (<c>watch fetchers</c>: one line per <c>mg</c>, naming its key), read
/// on a connection of its own: how many requests a key really cost, as the server counts them. Stopped at disposal.
/// </summary>
internal sealed class FetchWatch : IAsyncDisposable
{
    private readonly TcpClient _connection;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reading;
    private readonly ConcurrentQueue<string> _keys = new();

    private FetchWatch(TcpClient connection)
    {
        _connection = connection;
        _reading = ReadAsync();
    }

    /// <summary>Starts watching <paramref name="server"/>; returns once memcached acknowledged the watch.</summary>
    public static async Task<FetchWatch> StartAsync(ServerEndPoint server)
    {
        var connection = new TcpClient();
        await connection.ConnectAsync(server.Host, server.Port);
        var stream = connection.GetStream();
        await stream.WriteAsync("watch fetchers\r\n"u8.ToArray());
        var ok = new byte[4];
        await stream.ReadExactlyAsync(ok).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal("OK\r\n", Encoding.ASCII.GetString(ok));
        return new FetchWatch(connection);
    }

    /// <summary>Requests seen for <paramref name="key"/> so far (after a short wait, since the log is asynchronous).</summary>
    /// <summary>
    /// How many requests for <paramref name="key"/> the server has logged, once it has logged at least
    /// <paramref name="expected"/> (or 5 s have passed) and a further 200 ms have shown none more. memcached's watch
    /// log arrives asynchronously: a fixed wait of 300 ms missed a request on a loaded CI machine (a count of 0 for 1).
    /// </summary>
    public async Task<int> RequestsForAsync(string key, int expected)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (_keys.Count(k => k == key) < expected && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        await Task.Delay(200);
        return _keys.Count(k => k == key);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _connection.Dispose();
        try
        {
            await _reading.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception error) when (error is OperationCanceledException or IOException or ObjectDisposedException or SocketException)
        {
            // The reader ends with the connection.
        }

        _stop.Dispose();
    }

    private async Task ReadAsync()
    {
        using var reader = new StreamReader(_connection.GetStream(), Encoding.ASCII);
        while (await reader.ReadLineAsync(_stop.Token) is { } line)
        {
            // ts=... gid=... type=item_get key=KEY status=found ...
            if (line.Contains("type=item_get", StringComparison.Ordinal) && line.IndexOf(" key=", StringComparison.Ordinal) is var at and >= 0)
            {
                var start = at + 5;
                var end = line.IndexOf(' ', start);
                // The log escapes keys as a URI component (':' is %3A).
                _keys.Enqueue(Uri.UnescapeDataString(end < 0 ? line[start..] : line[start..end]));
            }
        }
    }
}
