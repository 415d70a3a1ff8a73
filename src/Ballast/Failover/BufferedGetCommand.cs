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
    private Diagnostics.ErrorsAsMisses? _errors;

    private BufferedGetCommand(CacheKey key)
        : base(key)
    {
    }

    /// <summary>A command for one read, from the pool when one is free.</summary>
    public static BufferedGetCommand Rent(CacheKey key, ServerEndPoint server, IBufferWriter<byte> destination, Diagnostics.ErrorsAsMisses? errors = null)
    {
        var command = CommandPool<BufferedGetCommand>.TryRent() ?? new BufferedGetCommand(key);
        command.CacheKey = key;
        command._server = server;
        command._errors = errors;
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
                if (!ServableRule.IsServable(response))
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

                // A buffer that refuses the value fails only this caller: the response was read whole, so the
                // connection is still in step.
                var value = response.Value;
                if (CopyInto(_destination!, value, Key!, _server) is { } refused)
                {
                    FailClaimed(refused);
                }

                return new BufferedGetResult(value.Length, flags, cas);
            default:
                throw Unexpected(response);
        }
    }

    /// <summary>
    /// Appends <paramref name="value"/> to the caller's buffer; on failure, the error to give the caller instead,
    /// naming the key and, when known, the server. Every read into a caller's buffer goes through here.
    /// </summary>
    public static MemcachedException? CopyInto(IBufferWriter<byte> destination, ReadOnlySpan<byte> value, string key, ServerEndPoint? server)
    {
        try
        {
            value.CopyTo(destination.GetSpan(value.Length));
            destination.Advance(value.Length);
            return null;
        }
        catch (Exception error)
        {
            var where = server is null ? "The value" : $"Server {server}: the value";
            return new MemcachedException(
                $"{where} of key '{key}' ({value.Length} bytes) could not be written into the destination buffer: {error.Message}",
                server,
                error);
        }
    }

    // As PresentedGetCommand: a server failure (its detector has counted it) is a miss; cancellation still throws.
    protected override bool TryResultOnFailure(Exception error, out BufferedGetResult result)
    {
        result = BufferedGetResult.Miss;
        if (error is not MemcachedException)
        {
            return false;
        }

        _errors?.Absorbed(Diagnostics.AbsorbedError.ReadMiss, CacheKey.Text, error);
        return true;
    }

    protected override void OnResultConsumed(bool reusable)
    {
        // The reference to the caller's buffer goes in any case: a command that cannot be reused still must not keep it.
        _destination = null;
        _errors = null;
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
