namespace Ballast.Protocol.Commands;

/// <summary><c>md</c>: delete, optionally only at a given CAS.</summary>
internal sealed class DeleteCommand : SingleResponseCommand<DeleteStatus>
{
    private readonly ulong _cas;

    public DeleteCommand(CacheKey key, ulong cas = 0)
        : base(key) => _cas = cas;

    public override void WriteRequest(RequestBuffer buffer)
    {
        WriteCommandAndKey(buffer, "md"u8);
        if (_cas != 0)
        {
            buffer.WriteFlag((byte)'C', _cas);
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
