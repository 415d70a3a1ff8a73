using System.Net.Sockets;
using Ballast.Protocol;
using Ballast.Protocol.Commands;

namespace Ballast.Connections;

/// <summary>The send path: many callers format into one buffer; one of them at a time sends.</summary>
/// <remarks>
/// Requests are sent in windows, the way a pipelining C client keeps a server busy: while the server still has at
/// least as many requests to answer as are waiting to be sent, the waiting ones are held back and leave together once
/// enough answers have come in. Memcached answers a connection's requests in order, so a request held back behind
/// outstanding ones is answered after them in any case; what the window saves is system calls on both sides, since one
/// send and one server read now carry dozens of requests instead of a few. The price is up to one round trip for a
/// request that arrives just after a large batch left, so a request is never held longer than a quarter of the
/// operation timeout (the connection's timer sends it), and its timeout counts from when it is sent. With nothing
/// outstanding, a request leaves at once, so a lone caller never waits.
/// </remarks>
internal sealed partial class MetaConnection
{
    private readonly Lock _writeLock = new();
    private RequestBuffer _pending = new();
    private RequestBuffer _sending = new();
    private bool _sendInProgress;
    private uint _nextOpaque;

    // Requests formatted into _pending and not yet handed to a send, since when the oldest of them waits, and whether the
    // timer wants them sent whatever the window says; guarded by _writeLock.
    private int _unsent;
    private long _heldSince;
    private bool _forceSend;

    // The request that goes ahead of the first one sent (see SendAhead); guarded by _writeLock.
    private MetaCommand? _ahead;

    // Once sent, the same request, which a timeout names by the request behind it (see CheckTimeout).
    private MetaCommand? _sentAhead;

    /// <summary>
    /// A request that goes out ahead of the first request sent on this connection, in the same send: the check of the
    /// server's start (<c>stats</c>), which must be answered before anything behind it is handed to a caller, and costs
    /// no round trip of its own. Set before the connection is handed to anyone.
    /// </summary>
    public void SendAhead(MetaCommand command)
    {
        lock (_writeLock)
        {
            _ahead = command;
        }
    }

    /// <summary>
    /// Queues <paramref name="command"/> and makes sure it is sent. The command's order in the send buffer and in the
    /// in-flight queue is the same, because both are decided under one lock.
    /// </summary>
    public void Send(MetaCommand command)
    {
        lock (_writeLock)
        {
            if (_faulted != 0)
            {
                CommandFailure.Fail(command, _fault ?? new ServerUnavailableException($"Server {Server}: the connection is closed.", Server), Server);
                return;
            }

            if (_ahead is not null)
            {
                EnqueueAhead();
            }

            if (!Enqueue(command) || _sendInProgress || !WindowIsOpen())
            {
                // Not queued; or the sender in progress, or the read loop once answers come in, sends this with the others.
                return;
            }

            _sendInProgress = true;
        }

        // The send runs as a work item of its own, not inline: callers whose continuations are already queued (a read
        // completes many at once) get to add their requests first, so one send carries them all. Fewer, larger
        // sends are what makes pipelining pay on a busy machine; the connection is its own work item (no allocation).
        _scheduler.Queue(this);
    }

    void IThreadPoolWorkItem.Execute() => _ = SendPendingAsync();

    /// <summary>
    /// Called by the read loop after answers came in: sends the requests held back while the server was busy, once
    /// the requests it still has to answer are no more than those waiting.
    /// </summary>
    private void SendHeldBack()
    {
        lock (_writeLock)
        {
            if (_sendInProgress || _unsent == 0 || _faulted != 0 || !WindowIsOpen())
            {
                return;
            }

            _sendInProgress = true;
        }

        // Not sent inline: the read loop must never wait on a send, or a server blocked writing answers to this
        // connection would never read the requests that would unblock it.
        _scheduler.Queue(this);
    }

    /// <summary>
    /// Called by the connection's timer: requests held back longer than a quarter of the operation timeout are sent
    /// whatever the window says, so holding them can never cost a caller more than that.
    /// </summary>
    private void SendLongHeld()
    {
        lock (_writeLock)
        {
            if (_sendInProgress || _unsent == 0 || _faulted != 0 || _time.GetElapsedTime(_heldSince) < _operationTimeout / 4)
            {
                return;
            }

            _forceSend = true;
            _sendInProgress = true;
        }

        _scheduler.Queue(this);
    }

    /// <summary>
    /// Sends the requests the window holds back now: a batch call has queued its last request, and the tail of a batch
    /// held for the answers to its head would cost the whole batch a second round trip.
    /// </summary>
    public void SendHeldNow()
    {
        lock (_writeLock)
        {
            if (_unsent == 0 || _faulted != 0)
            {
                return;
            }

            _forceSend = true;
            if (_sendInProgress)
            {
                // The sender in progress takes them on its next round.
                return;
            }

            _sendInProgress = true;
        }

        _scheduler.Queue(this);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void EnqueueAhead()
    {
        var ahead = _ahead!;
        _ahead = null;
        Volatile.Write(ref _sentAhead, ahead);
        Enqueue(ahead);
    }

    /// <summary>Formats <paramref name="command"/> into the pending buffer and the in-flight queue; false when it was failed instead. Called under the write lock.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private bool Enqueue(MetaCommand command)
    {
        var mark = _pending.Length;
        command.Opaque = _nextOpaque;
        _nextOpaque = unchecked(_nextOpaque + (uint)command.OpaqueCount);
        try
        {
            command.WriteRequest(_pending);
        }
        catch (Exception error)
        {
            _pending.Truncate(mark);
            command.Fail(error);
            return false;
        }

        if (mark > 0 && _pending.Length > _maxPendingSendBytes)
        {
            // The server is not taking what was sent before (it stopped reading, or the link is saturated): fail
            // this request now rather than hold ever more bytes for it. A lone request always goes, however large.
            _pending.Truncate(mark);
            command.Fail(new ServerUnavailableException(
                $"Server {Server}: {mark} bytes are already waiting to be sent on this connection, and the request for {CommandFailure.Describe(command)} would go past the cap of {_maxPendingSendBytes} (MaxPendingSendBytes); it was not sent.",
                Server));
            return false;
        }

        command.RunContinuationsAsynchronously = _scheduler.RunsContinuationsAsynchronously;
        _inFlight.Enqueue(command);
        if (_unsent++ == 0)
        {
            _heldSince = _time.GetTimestamp();
        }

        return true;
    }

    /// <summary>Whether the requests waiting should leave now. Called under the write lock.</summary>
    private bool WindowIsOpen()
    {
        var outstanding = _inFlight.Count - _unsent;
        return _unsent >= outstanding;
    }

    private async Task SendPendingAsync()
    {
        while (true)
        {
            RequestBuffer batch;
            lock (_writeLock)
            {
                if (_pending.Length == 0 || _faulted != 0 || !(_forceSend || WindowIsOpen()))
                {
                    _sendInProgress = false;
                    return;
                }

                batch = _pending;
                _pending = _sending;
                _sending = batch;
                _inFlight.StampNewest(_unsent, _time.GetTimestamp());
                _unsent = 0;
                _forceSend = false;
            }

            try
            {
                await _stream.WriteAsync(batch.WrittenMemory).ConfigureAwait(false);
            }
            catch (Exception error) when (error is SocketException or ObjectDisposedException or IOException or NotSupportedException)
            {
                lock (_writeLock)
                {
                    _sendInProgress = false;
                }

                Poison(ConnectionFault.Reset, new ServerUnavailableException($"Server {Server}: sending failed ({Describe(error)}); the connection was closed.", Server, error));
                return;
            }
            finally
            {
                batch.Clear();
            }
        }
    }

    private static string Describe(Exception error) => error switch
    {
        SocketException socket => socket.SocketErrorCode.ToString(),
        IOException { InnerException: SocketException socket } => socket.SocketErrorCode.ToString(),
        _ => error.GetType().Name,
    };
}
