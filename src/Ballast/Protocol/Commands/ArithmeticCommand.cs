namespace Ballast.Protocol.Commands;

/// <summary><c>ma</c>: increment or decrement, optionally creating the counter with an initial value.</summary>
internal sealed class ArithmeticCommand : SingleResponseCommand<CounterResult>
{
    private readonly bool _increment;
    private readonly ulong _delta;
    private readonly ulong? _initial;
    private readonly long _ttlSeconds;

    public ArithmeticCommand(CacheKey key, bool increment, ulong delta, ulong? initial, long ttlSeconds)
        : base(key)
    {
        _increment = increment;
        _delta = delta;
        _initial = initial;
        _ttlSeconds = ttlSeconds;
    }

    public override void WriteRequest(RequestBuffer buffer)
    {
        WriteCommandAndKey(buffer, "ma"u8);
        buffer.Write(_increment ? " v MI"u8 : " v MD"u8);
        buffer.WriteFlag((byte)'D', _delta);
        if (_initial is { } initial)
        {
            // N vivifies a missing counter with J as its value (and T-like TTL), as incr with an initial value would.
            buffer.WriteFlag((byte)'N', (ulong)_ttlSeconds);
            buffer.WriteFlag((byte)'J', initial);
        }

        WriteKeyFlagsAndOpaque(buffer);
        buffer.WriteCrlf();
    }

    protected override CounterResult Interpret(in MetaResponse response)
    {
        switch (response.Code)
        {
            case MetaResponseCode.Value:
                if (!System.Buffers.Text.Utf8Parser.TryParse(response.Value, out ulong value, out var used) || used != response.Value.Length)
                {
                    throw new MemcachedProtocolException($"the counter '{Key}' has the non-numeric value '{System.Text.Encoding.ASCII.GetString(response.Value)}'");
                }

                return new CounterResult(true, value);
            case MetaResponseCode.NotFound:
                return new CounterResult(false, 0);
            default:
                throw Unexpected(response);
        }
    }
}
