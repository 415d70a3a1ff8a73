namespace Ballast.Protocol.Commands;

/// <summary>
/// <c>md</c>: delete, optionally only at a given CAS, or (<c>I</c>) mark the item stale instead of removing it: the
/// next reader then wins the refill (<c>W</c>) and the others see it flagged stale (<c>X</c>).
/// </summary>
internal sealed class DeleteCommand : SingleResponseCommand<DeleteStatus>
{
    private readonly ulong _cas;
    private readonly long _staleSeconds;

    /// <param name="key">The key.</param>
    /// <param name="cas">Delete only at this CAS unique; 0 for any.</param>
    /// <param name="staleSeconds">Above -1: mark stale (<c>I</c>) with this TTL (<c>T</c>) instead of deleting.</param>
    public DeleteCommand(CacheKey key, ulong cas = 0, long staleSeconds = -1)
        : base(key)
    {
        _cas = cas;
        _staleSeconds = staleSeconds;
    }

    public override void WriteRequest(RequestBuffer buffer)
    {
        WriteCommandAndKey(buffer, "md"u8);
        if (_cas != 0)
        {
            buffer.WriteFlag((byte)'C', _cas);
        }

        if (_staleSeconds >= 0)
        {
            buffer.WriteFlag((byte)'I');
            buffer.WriteFlag((byte)'T', (ulong)_staleSeconds);
        }

        WriteKeyFlagsAndOpaque(buffer);
        buffer.WriteCrlf();
    }

    protected override DeleteStatus Interpret(in MetaResponse response) => response.Code switch
    {
        MetaResponseCode.Header => DeleteStatus.Deleted,
        MetaResponseCode.NotFound or MetaResponseCode.Exists => DeleteStatus.NotFound,
        _ => throw Unexpected(response),
    };
}
