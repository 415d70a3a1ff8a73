using System.Net.Sockets;
using Ballast.Protocol;
using Ballast.Protocol.Commands;

namespace Ballast.Connections;

/// <summary>The read loop: parses responses in place and hands each to the command at the head of the queue.</summary>
internal sealed partial class MetaConnection
{
    private const int InitialReceiveBufferSize = 64 * 1024;

    private async Task ReadLoopAsync()
    {
        var buffer = new byte[InitialReceiveBufferSize];
        var start = 0;
        var end = 0;
        try
        {
            while (Volatile.Read(ref _faulted) == 0)
            {
                if (end == buffer.Length)
                {
                    // Make room: slide the unparsed tail to the front, or grow when one response fills the buffer.
                    if (start > 0)
                    {
                        Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                        end -= start;
                        start = 0;
                    }
                    else
                    {
                        Array.Resize(ref buffer, buffer.Length * 2);
                    }
                }

                var received = await _socket.ReceiveAsync(buffer.AsMemory(end), SocketFlags.None).ConfigureAwait(false);
                if (received == 0)
                {
                    Poison(ConnectionFault.Reset, new ServerUnavailableException($"Server {Server} closed the connection.", Server));
                    return;
                }

                end += received;
                start = ProcessResponses(buffer, start, end, out var needed);
                if (start == end)
                {
                    start = end = 0;
                }
                else if (needed > buffer.Length - start)
                {
                    // A large value is arriving: grow once to hold it whole instead of doubling step by step.
                    var larger = new byte[Math.Max(needed, buffer.Length * 2)];
                    Buffer.BlockCopy(buffer, start, larger, 0, end - start);
                    end -= start;
                    start = 0;
                    buffer = larger;
                }

                _observer.OnResponsesReceived(this);
                SendHeldBack();
            }
        }
        catch (Exception error) when (error is SocketException or ObjectDisposedException)
        {
            Poison(ConnectionFault.Reset, new ServerUnavailableException($"Server {Server}: receiving failed ({Describe(error)}); the connection was closed.", Server, error));
        }
        catch (MemcachedProtocolException error)
        {
            Poison(ConnectionFault.Protocol, new MemcachedProtocolException($"Server {Server}: {error.Message}; the connection was closed.", Server, error));
        }
        catch (Exception error)
        {
            Poison(ConnectionFault.Protocol, new MemcachedProtocolException($"Server {Server}: the read loop failed ({error.Message}); the connection was closed.", Server, error));
        }
    }

    /// <summary>
    /// Takes the answered command off the queue. If the connection was poisoned meanwhile (a timeout firing as the
    /// answer arrived), the queue was drained under the write lock and what comes off it now is another command, which
    /// must be failed like the rest rather than dropped.
    /// </summary>
    /// <returns>
    /// True when this took <paramref name="answered"/> itself off the queue; false when a poisoning drained it first
    /// (and may still be about to fail it), in which case the command must not go back to a pool.
    /// </returns>
    private bool DequeueAnswered(MetaCommand answered)
    {
        if (!_inFlight.TryDequeue(out var dequeued))
        {
            return false;
        }

        if (ReferenceEquals(dequeued, answered))
        {
            return true;
        }

        dequeued.Fail(Volatile.Read(ref _fault) ?? new ServerUnavailableException($"Server {Server}: the connection was closed.", Server));
        return false;
    }

    private static bool Handle(MetaCommand command, in MetaResponse response)
    {
        try
        {
            return command.OnResponse(response);
        }
        catch (Exception error)
        {
            // The connection is poisoned by the caller of this; a command that claimed its completion must end here.
            command.OnResponseFailed(error);
            throw;
        }
    }

    /// <summary>Handles every complete response in buffer[start..end]; returns where the unparsed rest starts.</summary>
    private int ProcessResponses(byte[] buffer, int start, int end, out int needed)
    {
        needed = 0;
        while (start < end)
        {
            if (!MetaResponseParser.TryParse(buffer.AsSpan(start, end - start), out var response, out var consumed, out needed))
            {
                return start;
            }

            if (!_inFlight.TryPeek(out var command))
            {
                throw new MemcachedProtocolException($"the server sent '{response.ToString()}' with no request waiting for it");
            }

            if (response.Code is MetaResponseCode.ServerError or MetaResponseCode.ClientError or MetaResponseCode.Error)
            {
                DequeueAnswered(command);
                var what = command.Key is null ? "a server command" : $"key '{command.Key}'";
                var words = response.Code == MetaResponseCode.Error ? "ERROR" : response.Message;
                command.Fail(new MemcachedServerErrorException($"Server {Server} refused the request for {what}: {words}", Server));
                if (response.Code != MetaResponseCode.ServerError || !command.ServerErrorKeepsConnection)
                {
                    // After CLIENT_ERROR or ERROR the server may have read part of a request as another command, so
                    // the stream's alignment is no longer certain.
                    throw new MemcachedProtocolException($"it answered '{words}' for {what}, after which requests and responses may be out of step");
                }
            }
            else if (Handle(command, response))
            {
                command.Complete(reusable: DequeueAnswered(command));
            }

            start += consumed;
        }

        return start;
    }
}
