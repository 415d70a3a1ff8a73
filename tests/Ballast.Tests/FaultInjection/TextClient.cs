using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Ballast.Tests.FaultInjection;

/// <summary>A minimal memcached text-protocol client over a raw socket, so the fault kit is tested without Ballast itself.</summary>
internal sealed class TextClient : IDisposable
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(3);
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    private TextClient(Socket socket) => Socket = socket;

    public Socket Socket { get; }

    public static async Task<TextClient> ConnectAsync(string host, int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var timeout = new CancellationTokenSource(DefaultTimeout);
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Parse(host), port), timeout.Token);
            return new TextClient(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public async Task SendAsync(string text) => await SendAsync(Encoding.ASCII.GetBytes(text));

    public async Task SendAsync(byte[] data)
    {
        var sent = 0;
        while (sent < data.Length)
        {
            sent += await Socket.SendAsync(data.AsMemory(sent), SocketFlags.None);
        }
    }

    /// <summary>Sends a command and returns the first line of the answer.</summary>
    public async Task<string?> RequestAsync(string command)
    {
        await SendAsync(command);
        return await ReadLineAsync();
    }

    /// <summary>
    /// True when nothing (no data, no close, no reset) arrives within <paramref name="wait"/>. Waits asynchronously:
    /// a blocking Poll would hold a thread-pool thread the proxy's pumps may need on a small machine.
    /// </summary>
    public async Task<bool> StaysSilentForAsync(TimeSpan wait)
    {
        if (_start != _end)
        {
            return false;
        }

        using var cts = new CancellationTokenSource(wait);
        try
        {
            await FillAsync(cts.Token);
            return false;
        }
        catch (TimeoutException)
        {
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Waits (bounded) until <paramref name="condition"/> holds; false if it never does.</summary>
    public static async Task<bool> EventuallyAsync(Func<bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        for (var round = 0; round < 10_000; round++)
        {
            if (condition())
            {
                return true;
            }

            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(5);
        }

        return false;
    }

    /// <summary>Reads one line without its CRLF; null at end of stream; throws TimeoutException or SocketException.</summary>
    public async Task<string?> ReadLineAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        for (var round = 0; round < 100_000; round++)
        {
            var newline = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n"u8);
            if (newline >= 0)
            {
                var line = Encoding.ASCII.GetString(_buffer, _start, newline);
                _start += newline + 2;
                return line;
            }

            if (!await FillAsync(cts.Token))
            {
                return null;
            }
        }

        throw new InvalidOperationException("No line end found.");
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes.</summary>
    public async Task<byte[]> ReadExactAsync(int count, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        var result = new byte[count];
        var copied = 0;
        for (var round = 0; copied < count && round < 1_000_000; round++)
        {
            if (_start == _end && !await FillAsync(cts.Token))
            {
                throw new EndOfStreamException();
            }

            var n = Math.Min(count - copied, _end - _start);
            _buffer.AsSpan(_start, n).CopyTo(result.AsSpan(copied));
            _start += n;
            copied += n;
        }

        return result;
    }

    public void Dispose() => Socket.Dispose();

    private async Task<bool> FillAsync(CancellationToken ct)
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }

        int n;
        try
        {
            n = await Socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, ct);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException("No answer in time.");
        }

        _end += n;
        return n > 0;
    }
}
