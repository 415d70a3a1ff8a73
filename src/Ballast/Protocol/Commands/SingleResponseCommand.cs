namespace Ballast.Protocol.Commands;

/// <summary>A keyed meta command answered by exactly one response that echoes its opaque token.</summary>
internal abstract class SingleResponseCommand<T> : MetaCommand<T>
{
    protected SingleResponseCommand(CacheKey key) => CacheKey = key;

    protected CacheKey CacheKey { get; set; }

    public override string? Key => CacheKey.Text;

    public override string Describe() => CacheKey.Describe();

    public sealed override bool OnResponse(in MetaResponse response)
    {
        VerifyOpaque(response, Opaque);
        Result = Interpret(response);
        return true;
    }

    /// <summary>Turns the (opaque-checked) response into the result.</summary>
    /// <exception cref="MemcachedProtocolException">The response code is not one this command can get.</exception>
    protected abstract T Interpret(in MetaResponse response);

    /// <summary>Writes <c>mX key</c> (with the <c>b</c> flag for a base64 key).</summary>
    protected void WriteCommandAndKey(RequestBuffer buffer, ReadOnlySpan<byte> command)
    {
        buffer.Write(command);
        buffer.Write((byte)' ');
        CacheKey.WriteTo(buffer);
    }

    protected void WriteKeyFlagsAndOpaque(RequestBuffer buffer)
    {
        if (CacheKey.IsBase64)
        {
            buffer.WriteFlag((byte)'b');
        }

        buffer.WriteFlag((byte)'O', Opaque);
    }

    protected MemcachedProtocolException Unexpected(in MetaResponse response)
        => new($"unexpected response '{response.ToString()}' to {GetType().Name.Replace("Command", string.Empty, StringComparison.Ordinal)} of {Describe()}");
}
