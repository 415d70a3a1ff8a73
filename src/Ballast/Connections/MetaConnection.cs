using Ballast.Protocol.Commands;

namespace Ballast.Connections;

/// <summary>
/// One pipelined connection (TCP, or TLS over TCP) to one memcached server. Any number of callers share it: each
/// formats its request into the pending buffer under a lock, the first caller to find no send under way sends
/// everything pending, and a single read loop matches responses to the FIFO of requests in flight.
/// </summary>
/// <remarks>
/// The connection is either correct or closed. Any timeout, protocol surprise or socket error poisons it: it is
/// closed, every request on it is failed, and the owner replaces it. A response can therefore never be handed to a
/// request other than the one it answers, even when the server answers late.
/// What a server can make it spend is bounded: a value no larger than the item size limit, lines of at most
/// <see cref="Protocol.MetaResponseParser.MaxLineLength"/> bytes, pending sends of at most
/// <see cref="MemcachedClientOptions.MaxPendingSendBytes"/>, and buffers that shrink back after a large value.
/// Split by concern: <c>MetaConnection.Connect.cs</c> (TCP, TLS and login), <c>MetaConnection.Write.cs</c> (the send
/// path), <c>MetaConnection.Read.cs</c> (the read loop).
/// </remarks>
internal sealed partial class MetaConnection : IAsyncDisposable, IThreadPoolWorkItem
{
    private readonly Stream _stream;
    private readonly System.Net.Sockets.Socket? _socket;
    private readonly IConnectionObserver _observer;
    private readonly TimeProvider _time;
    private readonly TimeSpan _operationTimeout;
    private readonly int _maxValueLength;
    private readonly int _maxPendingSendBytes;
    private readonly InFlightQueue _inFlight = new();
    private readonly ITimer _timeoutTimer;
    private readonly Runtime.WorkScheduler _scheduler = Runtime.WorkScheduler.Current;
    private Exception? _fault;
    private int _faulted;

    private MetaConnection(Stream stream, System.Net.Sockets.Socket? socket, ServerEndPoint server, IConnectionObserver observer, TimeProvider time, MemcachedClientOptions options)
    {
        _stream = stream;
        _socket = socket;
        Server = server;
        _observer = observer;
        _time = time;
        _operationTimeout = options.OperationTimeout;
        _maxValueLength = options.MaxItemSize;
        _maxPendingSendBytes = options.MaxPendingSendBytes;

        // One timer per connection checks the oldest request in flight: responses come in order, so if the oldest has
        // not been answered in time, nothing behind it has been either.
        var period = TimeSpan.FromMilliseconds(Math.Clamp(_operationTimeout.TotalMilliseconds / 4, 5, 100));
        _timeoutTimer = time.CreateTimer(static state => ((MetaConnection)state!).OnTimer(), this, period, period);
        _ = ReadLoopAsync();
    }

    public ServerEndPoint Server { get; }

    /// <summary>False once the connection has been poisoned or closed.</summary>
    public bool IsHealthy => Volatile.Read(ref _faulted) == 0;

    /// <summary>
    /// A connection over a stream that is already open and authenticated: what <see cref="ConnectAsync"/> ends with,
    /// and how tests drive the read and send paths over in-memory streams. The connection owns the stream.
    /// </summary>
    internal static MetaConnection Over(Stream stream, ServerEndPoint server, IConnectionObserver observer, TimeProvider time, MemcachedClientOptions options)
        => new(stream, null, server, observer, time, options);

    /// <summary>
    /// Closes the connection because of <paramref name="error"/>: the transport is closed first, so nothing more is
    /// read, then every request in flight is failed, each with an exception of its own (see
    /// <see cref="CommandFailure"/>). Only the first fault counts.
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
            _socket?.Close(0);
            _stream.Dispose();
        }
        catch (Exception closing) when (closing is ObjectDisposedException or IOException or System.Net.Sockets.SocketException)
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
            CommandFailure.Fail(command, error, Server);
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
            if (ReferenceEquals(oldest, Volatile.Read(ref _sentAhead)) && _inFlight.TryPeekAt(1, out var behind))
            {
                // The check sent ahead of the first request is the oldest, but the request behind it is what a caller
                // (and the failure's detail) knows: named instead. They went in one send and are answered in order.
                oldest = behind;
            }

            Poison(ConnectionFault.Timeout, new MemcachedTimeoutException(
                $"Server {Server} did not answer the request for {CommandFailure.Describe(oldest)} within the operation timeout of {_operationTimeout.TotalMilliseconds:0} ms; the connection was closed.",
                Server));
        }
    }
}
