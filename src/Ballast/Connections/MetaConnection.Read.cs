using System.Net.Sockets;
using System.Security.Authentication;
using Ballast.Protocol;
using Ballast.Protocol.Commands;

namespace Ballast.Connections;

/// <summary>The read loop: parses responses in place and hands each to the command at the head of the queue.</summary>
internal sealed partial class MetaConnection
{
    private const int InitialReceiveBufferSize = 64 * 1024;

    // Above this size the receive buffer is dropped once empty, so one large value is not held for the connection's life.
    private const int RetainedReceiveBufferSize = 1024 * 1024;

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
                        // Unreachable while the parser caps lines and values (it asks for room through "needed");
                        // kept as a bound should that ever change.
                        throw new MemcachedProtocolException($"a response did not fit in {buffer.Length} bytes");
                    }
                }

                var received = await _stream.ReadAsync(buffer.AsMemory(end)).ConfigureAwait(false);
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
                    if (buffer.Length > RetainedReceiveBufferSize)
                    {
                        buffer = new byte[InitialReceiveBufferSize];
                    }
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
        catch (Exception error) when (error is SocketException or ObjectDisposedException or IOException)
        {
            Poison(ConnectionFault.Reset, new ServerUnavailableException($"Server {Server}: receiving failed ({Describe(error)}); the connection was closed.", Server, error));
        }
        catch (AuthenticationException error)
        {
            Poison(ConnectionFault.Protocol, error);
        }
        catch (ServerUnavailableException error)
        {
            // A check on the answers found the server is not the one the connection was for (a restart, see
            // ServerNode.StartCheck): it marked the server down itself; what was sent behind the check is failed.
            Poison(ConnectionFault.Closed, error);
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

        CommandFailure.Fail(dequeued, Volatile.Read(ref _fault) ?? new ServerUnavailableException($"Server {Server}: the connection was closed.", Server), Server);
        return false;
    }

    private static bool IsAuthenticationRefusal(ReadOnlySpan<byte> message)
        => message.StartsWith("unauthenticated"u8) || message.StartsWith("authentication failure"u8);

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
            if (!MetaResponseParser.TryParse(buffer.AsSpan(start, end - start), _maxValueLength, out var response, out var consumed, out needed))
            {
                return start;
            }

            if (!_inFlight.TryPeekAt(0, out var command))
            {
                throw new MemcachedProtocolException($"the server sent '{MetaResponseParser.Shown(buffer.AsSpan(start, Math.Min(consumed, 64)))}' with no request waiting for it");
            }

            if (response.Code is MetaResponseCode.ServerError or MetaResponseCode.ClientError or MetaResponseCode.Error)
            {
                DequeueAnswered(command);
                var what = CommandFailure.Describe(command);
                var words = response.Code == MetaResponseCode.Error ? "ERROR" : MetaResponseParser.Shown(response.Tokens);
                if (response.Code == MetaResponseCode.ClientError && IsAuthenticationRefusal(response.Tokens))
                {
                    // memcached -Y answers every request of a connection that has not logged in this way (and then
                    // closes it). A configuration error, not a miss: the caller and everyone on the connection see it.
                    var refusal = new MemcachedAuthenticationException(
                        $"Server {Server} requires authentication (memcached -Y) and refused the request for {what}: '{words}'. Set MemcachedClientOptions.Credentials (--user, --password-file).",
                        Server);
                    command.Fail(refusal);
                    throw refusal;
                }

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
