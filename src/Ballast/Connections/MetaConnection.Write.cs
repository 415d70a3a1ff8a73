using System.Net.Sockets;
using Ballast.Protocol;
using Ballast.Protocol.Commands;

namespace Ballast.Connections;

/// <summary>The send path: many callers format into one buffer; one of them at a time sends.</summary>
internal sealed partial class MetaConnection
{
    private readonly Lock _writeLock = new();
    private RequestBuffer _pending = new();
    private RequestBuffer _sending = new();
    private bool _sendInProgress;
    private uint _nextOpaque;

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
                command.Fail(_fault ?? new ServerUnavailableException($"Server {Server}: the connection is closed.", Server));
                return;
            }

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
                return;
            }

            command.WrittenTimestamp = _time.GetTimestamp();
            _inFlight.Enqueue(command);
            if (_sendInProgress)
            {
                // The sender in progress will pick this up when its current send completes: that is the batching.
                return;
            }

            _sendInProgress = true;
        }

        // The send runs as a work item of its own, not inline: callers whose continuations are already queued (a read
        // completes many at once) get to add their requests first, so one send carries them all. Fewer, larger
        // sends are what makes pipelining pay on a busy machine; the connection is its own work item (no allocation).
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    void IThreadPoolWorkItem.Execute() => _ = SendPendingAsync();

    private async Task SendPendingAsync()
    {
        while (true)
        {
            RequestBuffer batch;
            lock (_writeLock)
            {
                if (_pending.Length == 0 || _faulted != 0)
                {
                    _sendInProgress = false;
                    return;
                }

                batch = _pending;
                _pending = _sending;
                _sending = batch;
            }

            try
            {
                await _socket.SendAsync(batch.WrittenMemory, SocketFlags.None).ConfigureAwait(false);
            }
            catch (Exception error) when (error is SocketException or ObjectDisposedException)
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

    private static string Describe(Exception error) => error is SocketException socket ? socket.SocketErrorCode.ToString() : error.GetType().Name;
}
