namespace Ballast.Protocol.Commands;

/// <summary>
/// <c>mg</c>: get, touch, get-and-touch and lease gets. Always asks for client flags and CAS so a hit can be
/// compare-and-swapped.
/// </summary>
internal class GetCommand : SingleResponseCommand<GetResult>
{
    private bool _withValue;
    private long _touchSeconds;
    private long _vivifySeconds;

    /// <param name="key">The key.</param>
    /// <param name="withValue">Ask for the value (<c>v</c>); false for a plain touch.</param>
    /// <param name="touchSeconds">Set the TTL (<c>T</c>) when 0 or more; -1 leaves it.</param>
    /// <param name="vivifySeconds">On a miss, create a placeholder and win the refill lease (<c>N</c>) when above 0.</param>
    public GetCommand(CacheKey key, bool withValue = true, long touchSeconds = -1, long vivifySeconds = 0)
        : base(key)
    {
        _withValue = withValue;
        _touchSeconds = touchSeconds;
        _vivifySeconds = vivifySeconds;
    }

    /// <summary>Sets the request's parameters again, for a command taken from a pool.</summary>
    protected void Reinitialize(CacheKey key, bool withValue, long touchSeconds, long vivifySeconds)
    {
        CacheKey = key;
        _withValue = withValue;
        _touchSeconds = touchSeconds;
        _vivifySeconds = vivifySeconds;
    }

    public override void WriteRequest(RequestBuffer buffer)
    {
        WriteCommandAndKey(buffer, "mg"u8);
        if (_withValue)
        {
            buffer.Write(" v f c"u8);
        }

        if (_touchSeconds >= 0)
        {
            buffer.WriteFlag((byte)'T', (ulong)_touchSeconds);
        }

        if (_vivifySeconds > 0)
        {
            buffer.WriteFlag((byte)'N', (ulong)_vivifySeconds);
        }

        WriteKeyFlagsAndOpaque(buffer);
        buffer.WriteCrlf();
    }

    /// <summary>
    /// A <c>VA</c> response as a result, with its lease and staleness flags, which decide what a caller may see
    /// (see FailoverStrategy.Present). Every read of values goes through here, batched or not.
    /// </summary>
    public static GetResult FromValue(in MetaResponse response)
        => new(response.Value.ToArray(), (uint)response.GetUInt64Flag((byte)'f', uint.MaxValue), response.GetUInt64Flag((byte)'c'))
        {
            MustRefill = response.HasFlag((byte)'W'),
            RefillPending = response.HasFlag((byte)'Z'),
            IsStale = response.HasFlag((byte)'X'),
        };

    protected override GetResult Interpret(in MetaResponse response) => response.Code switch
    {
        MetaResponseCode.Value => FromValue(response),
        MetaResponseCode.Header => new GetResult([], 0, 0),
        MetaResponseCode.End => GetResult.Miss,
        _ => throw Unexpected(response),
    };
}
