using System.Buffers;
using Ballast.Protocol;
using Ballast.Protocol.Commands;

namespace Ballast.Failover;

/// <summary>
/// A get that copies a hit's value straight from the connection's receive buffer into the caller's
/// <see cref="IBufferWriter{T}"/>: no array per read, and the command itself is pooled, so the read allocates nothing.
/// It presents like <see cref="PresentedGetCommand"/>: lease placeholders and stale items are misses, and so is a
/// failure of the server.
/// </summary>
internal sealed class BufferedGetCommand : SingleResponseCommand<BufferedGetResult>
{
    private IBufferWriter<byte>? _destination;
    private ServerEndPoint? _server;

    private BufferedGetCommand(CacheKey key)
        : base(key)
    {
    }

    /// <summary>A command for one read, from the pool when one is free.</summary>
    public static BufferedGetCommand Rent(CacheKey key, ServerEndPoint server, IBufferWriter<byte> destination)
    {
        var command = CommandPool<BufferedGetCommand>.TryRent() ?? new BufferedGetCommand(key);
        command.CacheKey = key;
        command._server = server;
        command._destination = destination;
        return command;
    }

    public override void WriteRequest(RequestBuffer buffer)
    {
        WriteCommandAndKey(buffer, "mg"u8);
        buffer.Write(" v f c"u8);
        WriteKeyFlagsAndOpaque(buffer);
        buffer.WriteCrlf();
    }

    protected override BufferedGetResult Interpret(in MetaResponse response)
    {
        switch (response.Code)
        {
            case MetaResponseCode.End:
                return BufferedGetResult.Miss;
            case MetaResponseCode.Value:
                // As FailoverStrategy.Present: a lease placeholder or a stale item is not a value a caller may see.
                if (response.HasFlag((byte)'W') || response.HasFlag((byte)'Z') || response.HasFlag((byte)'X'))
                {
                    return BufferedGetResult.Miss;
                }

                // Everything that can throw on a malformed response comes before the claim.
                var flags = (uint)response.GetUInt64Flag((byte)'f');
                var cas = response.GetUInt64Flag((byte)'c');
                if (!TryClaimCompletion())
                {
                    // Cancelled or failed already: the caller may be using its buffer again.
                    return BufferedGetResult.Miss;
                }

                var value = response.Value;
                try
                {
                    var span = _destination!.GetSpan(value.Length);
                    value.CopyTo(span);
                    _destination.Advance(value.Length);
                }
                catch (Exception error)
                {
                    // The caller's buffer refused the value. The response was read whole, so the connection is still
                    // in step: only this caller fails.
                    FailClaimed(new MemcachedException(
                        $"Server {_server}: the value of key '{Key}' ({value.Length} bytes) could not be written into the destination buffer: {error.Message}",
                        _server,
                        error));
                }

                return new BufferedGetResult(value.Length, flags, cas);
            default:
                throw Unexpected(response);
        }
    }

    // As PresentedGetCommand: a server failure (its detector has counted it) is a miss; cancellation still throws.
    protected override bool TryResultOnFailure(Exception error, out BufferedGetResult result)
    {
        result = BufferedGetResult.Miss;
        return error is MemcachedException;
    }

    protected override void OnResultConsumed(bool reusable)
    {
        // The reference to the caller's buffer goes in any case: a command that cannot be reused still must not keep it.
        _destination = null;
        if (!reusable)
        {
            return;
        }

        ResetForReuse();
        _server = null;
        CacheKey = default;
        CommandPool<BufferedGetCommand>.Return(this);
    }
}
