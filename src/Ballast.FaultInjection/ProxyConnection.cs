using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Ballast.FaultInjection;

/// <summary>One client connection through a <see cref="FaultProxy"/> and its connection to the server, pumped both ways.</summary>
/// <remarks>
/// Each direction has a receive loop and a send loop joined by a small bounded queue. In <see cref="ProxyFaultMode.Pass"/>
/// with nothing queued, the receive loop sends directly (no copy, no thread hop), which keeps the proxy cheap under load;
/// otherwise (latency, or bytes still queued from a latency period) chunks go through the queue so order is kept.
/// </remarks>
internal sealed class ProxyConnection
{
    internal const int BufferSize = 32 * 1024;

    // A direction queues at most this many chunks (16 x 32 KiB) before its receive loop waits: the kernel's socket
    // buffers then push back on the sender, as a slow link would.
    private const int QueueCapacity = 16;
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    private readonly FaultProxy _proxy;
    private readonly Socket _client;
    private readonly TimeProvider _time;
    private Socket? _server;
    private int _closed;
    private volatile bool _serverless;

    internal ProxyConnection(FaultProxy proxy, Socket client, TimeProvider time)
    {
        _proxy = proxy;
        _client = client;
        _time = time;
    }

    /// <summary>Connects to the server and pumps until either side closes, an error, a reset or the proxy's disposal.</summary>
    internal async Task RunAsync(IPEndPoint target, CancellationToken ct)
    {
        try
        {
            if (_proxy.State.Mode == ProxyFaultMode.Reset)
            {
                Close(abortive: true);
                return;
            }

            _client.NoDelay = true;
            var server = await TryConnectAsync(target, ct).ConfigureAwait(false);
            if (server is null)
            {
                _serverless = true;
                if (_proxy.State.Mode == ProxyFaultMode.Blackhole)
                {
                    // A partition hides a dead server as well: keep the client hanging until the mode changes.
                    await DrainAsync(ct).ConfigureAwait(false);
                }

                // Otherwise the server refused us; pass that on as a reset, which is what the client would have seen.
                Close(abortive: true);
                return;
            }

            // A full fence between publishing the server socket and reading _closed, matching Close's order
            // (set _closed, then read _server), so one of the two always closes it.
            Interlocked.Exchange(ref _server, server);
            if (Volatile.Read(ref _closed) != 0)
            {
                // Closed (reset or disposal) while we were connecting.
                server.Dispose();
                return;
            }

            var upstream = PumpAsync(_client, server, ct);
            var downstream = PumpAsync(server, _client, ct);
            await Task.WhenAll(upstream, downstream).ConfigureAwait(false);
            Close(abortive: false);
        }
#pragma warning disable CA1031 // Any failure of one connection ends that connection, never the proxy.
        catch (Exception)
#pragma warning restore CA1031
        {
            Close(abortive: true);
        }
    }

    /// <summary>Reacts at once to a mode change: a reset aborts the connection now rather than at its next byte.</summary>
    internal void OnModeChanged(ProxyFaultMode mode)
    {
        // A client kept hanging without a server (see RunAsync) is reset once the partition ends.
        if (mode == ProxyFaultMode.Reset || (mode != ProxyFaultMode.Blackhole && _serverless))
        {
            Close(abortive: true);
        }
    }

    /// <summary>Closes both sockets, once: abortive sends a TCP reset (linger 0), otherwise an ordinary close.</summary>
    internal void Close(bool abortive)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        CloseSocket(_client, abortive);
        if (Volatile.Read(ref _server) is { } server)
        {
            CloseSocket(server, abortive);
        }
    }

    private static void CloseSocket(Socket socket, bool abortive)
    {
        try
        {
            if (abortive)
            {
                // Linger on with a zero timeout makes close() send RST instead of FIN; .NET keeps it so even when a
                // receive is pending on the socket.
                socket.LingerState = new LingerOption(true, 0);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }

        socket.Dispose();
    }

    private async Task<Socket?> TryConnectAsync(IPEndPoint target, CancellationToken ct)
    {
        var socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = new CancellationTokenSource(ConnectTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        try
        {
            await socket.ConnectAsync(target, linked.Token).ConfigureAwait(false);
            return socket;
        }
        catch (Exception e) when (e is SocketException || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            socket.Dispose();
            return null;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Reads and drops the client's bytes until it closes or the connection is closed (by a mode change).</summary>
    private async Task DrainAsync(CancellationToken ct)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            // Bounded by the client closing, the connection being closed or the proxy being disposed.
            while (true)
            {
                var n = await _client.ReceiveAsync(buffer.AsMemory(), SocketFlags.None, ct).ConfigureAwait(false);
                if (n == 0)
                {
                    return;
                }

                _proxy.AddDropped(n);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Moves bytes from <paramref name="source"/> to <paramref name="destination"/> until end of stream.</summary>
    private async Task PumpAsync(Socket source, Socket destination, CancellationToken ct)
    {
        var queue = Channel.CreateBounded<ProxyChunk>(new BoundedChannelOptions(QueueCapacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });

        // Chunks handed to the queue and not yet fully sent (or dropped). Only the receive loop increments it, so when it
        // reads zero the send loop is idle and sending directly cannot overtake a queued chunk.
        var pending = new StrongBox<int>(0);
        var sender = SendLoopAsync(queue, destination, pending, ct);
        try
        {
            await ReceiveLoopAsync(source, destination, queue.Writer, pending, ct).ConfigureAwait(false);
        }
        catch
        {
            // Abort so the send loop (and the other direction) stop at once instead of finishing their work.
            Close(abortive: true);
            throw;
        }
        finally
        {
            queue.Writer.TryComplete();
            await sender.ConfigureAwait(false);
        }

        // The source said goodbye (FIN): pass it on once everything before it has gone out.
        try
        {
            destination.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
            // The other side is already gone; the other direction's pump will notice.
        }
    }

    private async Task ReceiveLoopAsync(Socket source, Socket destination, ChannelWriter<ProxyChunk> queue, StrongBox<int> pending, CancellationToken ct)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            // Bounded by end of stream, an error, the connection being closed or the proxy being disposed.
            while (true)
            {
                var n = await source.ReceiveAsync(buffer.AsMemory(), SocketFlags.None, ct).ConfigureAwait(false);
                if (n == 0)
                {
                    return;
                }

                var state = _proxy.State;
                switch (state.Mode)
                {
                    case ProxyFaultMode.Reset:
                        Close(abortive: true);
                        return;

                    case ProxyFaultMode.Blackhole:
                        _proxy.AddDropped(n);
                        continue;

                    case ProxyFaultMode.Pass when Volatile.Read(ref pending.Value) == 0:
                        await SendAllAsync(destination, buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                        _proxy.AddForwarded(n);
                        continue;

                    default:
                        var copy = ArrayPool<byte>.Shared.Rent(n);
                        buffer.AsSpan(0, n).CopyTo(copy);
                        var delay = state.Mode == ProxyFaultMode.Latency ? state.Latency : TimeSpan.Zero;
                        Interlocked.Increment(ref pending.Value);
                        await queue.WriteAsync(new ProxyChunk(copy, n, _time.GetTimestamp(), delay), ct).ConfigureAwait(false);
                        continue;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task SendLoopAsync(Channel<ProxyChunk> queue, Socket destination, StrongBox<int> pending, CancellationToken ct)
    {
        try
        {
            await foreach (var chunk in queue.Reader.ReadAllAsync(ct).ConfigureAwait(false))
            {
                try
                {
                    var wait = chunk.Delay - _time.GetElapsedTime(chunk.ReceivedAt);
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait, _time, ct).ConfigureAwait(false);
                    }

                    // Bytes still in flight when the link goes down are lost with it.
                    var mode = _proxy.State.Mode;
                    if (mode is ProxyFaultMode.Blackhole or ProxyFaultMode.Reset)
                    {
                        _proxy.AddDropped(chunk.Length);
                    }
                    else
                    {
                        await SendAllAsync(destination, chunk.Buffer.AsMemory(0, chunk.Length), ct).ConfigureAwait(false);
                        _proxy.AddForwarded(chunk.Length);
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(chunk.Buffer);
                    Interlocked.Decrement(ref pending.Value);
                }
            }
        }
        catch
        {
            // A failed send ends the connection; make the receive loop stop too rather than queue into nothing.
            Close(abortive: true);
            queue.Writer.TryComplete();
            while (queue.Reader.TryRead(out var left))
            {
                ArrayPool<byte>.Shared.Return(left.Buffer);
                Interlocked.Decrement(ref pending.Value);
            }

            throw;
        }
    }

    private static async ValueTask SendAllAsync(Socket socket, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        // Each round sends at least one byte or throws, so this ends after at most data.Length rounds.
        while (!data.IsEmpty)
        {
            var sent = await socket.SendAsync(data, SocketFlags.None, ct).ConfigureAwait(false);
            if (sent <= 0)
            {
                throw new SocketException((int)SocketError.ConnectionReset);
            }

            data = data[sent..];
        }
    }
}
