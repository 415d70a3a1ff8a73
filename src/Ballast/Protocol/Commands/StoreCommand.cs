namespace Ballast.Protocol.Commands;

/// <summary><c>ms</c>: set, add, replace, append, prepend and compare-and-swap.</summary>
internal sealed class StoreCommand : SingleResponseCommand<StoreResult>
{
    private readonly ReadOnlyMemory<byte> _value;
    private readonly StoreMode _mode;
    private readonly long _ttlSeconds;
    private readonly uint _flags;
    private readonly ulong _cas;

    public StoreCommand(CacheKey key, ReadOnlyMemory<byte> value, StoreMode mode, long ttlSeconds, uint flags, ulong cas)
        : base(key)
    {
        _value = value;
        _mode = mode;
        _ttlSeconds = ttlSeconds;
        _flags = flags;
        _cas = cas;
    }

    public override void WriteRequest(RequestBuffer buffer)
    {
        WriteCommandAndKey(buffer, "ms"u8);
        buffer.Write((byte)' ');
        buffer.WriteNumber((ulong)_value.Length);
        buffer.WriteFlag((byte)'c');
        if (_mode is not StoreMode.Append and not StoreMode.Prepend)
        {
            buffer.WriteFlag((byte)'T', (ulong)_ttlSeconds);
            if (_flags != 0)
            {
                buffer.WriteFlag((byte)'F', _flags);
            }
        }

        if (_mode != StoreMode.Set)
        {
            buffer.WriteFlag((byte)'M');
            buffer.Write((byte)_mode);
        }

        if (_cas != 0)
        {
            buffer.WriteFlag((byte)'C', _cas);
        }

        WriteKeyFlagsAndOpaque(buffer);
        buffer.WriteCrlf();
        buffer.Write(_value.Span);
        buffer.WriteCrlf();
    }

    protected override StoreResult Interpret(in MetaResponse response) => response.Code switch
    {
        MetaResponseCode.Header => new StoreResult(StoreStatus.Stored, response.GetUInt64Flag((byte)'c')),
        MetaResponseCode.NotStored => new StoreResult(StoreStatus.NotStored, 0),
        MetaResponseCode.Exists => new StoreResult(StoreStatus.Exists, 0),
        MetaResponseCode.NotFound => new StoreResult(StoreStatus.NotFound, 0),
        _ => throw Unexpected(response),
    };
}
