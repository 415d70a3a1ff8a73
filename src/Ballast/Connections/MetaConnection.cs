using System.Net;
using System.Net.Sockets;
using Ballast.Protocol;
using Ballast.Protocol.Commands;

namespace Ballast.Connections;

/// <summary>
/// One pipelined TCP connection to one memcached server. Any number of callers share it: each formats its request
/// into the pending buffer under a lock, the first caller to find no send under way sends everything pending, and a
/// single read loop matches responses to the FIFO of requests in flight.
/// </summary>
/// <remarks>
/// The connection is either correct or closed. Any timeout, protocol surprise or socket error poisons it: it is
/// closed, every request on it is failed, and the owner replaces it. A response can therefore never be handed to a
/// request other than the one it answers, even when the server answers late.
/// Split by concern: <c>MetaConnection.Write.cs</c> (the send path), <c>MetaConnection.Read.cs</c> (the read loop).
/// </remarks>
internal sealed partial class MetaConnection : IAsyncDisposable, IThreadPoolWorkItem
{
    private readonly Socket _socket;
    private readonly IConnectionObserver _observer;
    private readonly TimeProvider _time;
    private readonly TimeSpan _operationTimeout;
    private readonly InFlightQueue _inFlight = new();
    private readonly ITimer _timeoutTimer;
    private Exception? _fault;
    private int _faulted;

    private MetaConnection(Socket socket, ServerEndPoint server, IConnectionObserver observer, TimeProvider time, TimeSpan operationTimeout)
    {
        _socket = socket;
        Server = server;
        _observer = observer;
        _time = time;
        _operationTimeout = operationTimeout;

        // One timer per connection checks the oldest request in flight: responses come in order, so if the oldest has
        // not been answered in time, nothing behind it has been either.
        var period = TimeSpan.FromMilliseconds(Math.Clamp(operationTimeout.TotalMilliseconds / 4, 5, 100));
        _timeoutTimer = time.CreateTimer(static state => ((MetaConnection)state!).OnTimer(), this, period, period);
        _ = ReadLoopAsync();
    }

    public ServerEndPoint Server { get; }

    /// <summary>False once the connection has been poisoned or closed.</summary>
    public bool IsHealthy => Volatile.Read(ref _faulted) == 0;

    /// <summary>Opens a connection, failing after <paramref name="connectTimeout"/>.</summary>
    /// <exception cref="ServerUnavailableException">The connection was refused, reset or timed out.</exception>
    public static async Task<MetaConnection> ConnectAsync(
        ServerEndPoint server,
        ServerEndPoint connectTo,
        IConnectionObserver observer,
        TimeProvider time,
        TimeSpan connectTimeout,
        TimeSpan operationTimeout,
        CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(connectTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        Socket? socket = null;
        try
        {
            var addresses = IPAddress.TryParse(connectTo.Host, out var literal)
                ? [literal]
                : await Dns.GetHostAddressesAsync(connectTo.Host, linked.Token).ConfigureAwait(false);
            if (addresses.Length == 0)
            {
                throw new ServerUnavailableException($"Server {server}: the host name resolves to no address.", server);
            }

            socket = new Socket(addresses[0].AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(new IPEndPoint(addresses[0], connectTo.Port), linked.Token).ConfigureAwait(false);
            return new MetaConnection(socket, server, observer, time, operationTimeout);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            socket?.Dispose();
            throw new ServerUnavailableException($"Server {server}: connecting took longer than the connect timeout of {connectTimeout.TotalMilliseconds:0} ms.", server);
        }
        catch (SocketException error)
        {
            socket?.Dispose();
            throw new ServerUnavailableException($"Server {server}: cannot connect ({error.SocketErrorCode}).", server, error);
        }
        catch
        {
            socket?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Closes the connection because of <paramref name="error"/>: the socket is closed first, so nothing more is read,
    /// then every request in flight is failed. Only the first fault counts.
    /// </summary>
    public void Poison(ConnectionFault fault, Exception error)
    {
        if (Interlocked.Exchange(ref _faulted, 1) != 0)
        {
            return;
        }

        Volatile.Write(ref _fault, error);
        _timeoutTimer.Dispose();
        try
        {
            _socket.Close(0);
        }
        catch (ObjectDisposedException)
        {
        }

        // Under the write lock, so no caller can slip a request in after the queue was emptied.
        lock (_writeLock)
        {
            FailInFlight(error);
        }

        _observer.OnFaulted(this, fault, error);
    }

    public ValueTask DisposeAsync()
    {
        Poison(ConnectionFault.Closed, new ObjectDisposedException(nameof(MetaConnection), $"The connection to {Server} was closed."));
        return ValueTask.CompletedTask;
    }

    private void FailInFlight(Exception error)
    {
        // Requests queued behind the one that failed were written (or were about to be) and got no answer: their
        // fate on the server is unknown, just like the failed one's.
        while (_inFlight.TryDequeue(out var command))
        {
            command.Fail(error);
        }
    }

    private void OnTimer()
    {
        SendLongHeld();
        CheckTimeout();
    }

    private void CheckTimeout()
    {
        if (!_inFlight.TryPeekOldest(out var oldest, out var written) || written == 0)
        {
            return;
        }

        var waited = _time.GetElapsedTime(written);
        if (waited > _operationTimeout)
        {
            var key = oldest.Key;
            var what = key is null ? "a server command" : $"key '{key}'";
            Poison(ConnectionFault.Timeout, new MemcachedTimeoutException(
                $"Server {Server} did not answer the request for {what} within the operation timeout of {_operationTimeout.TotalMilliseconds:0} ms; the connection was closed.",
                Server));
        }
    }
}
