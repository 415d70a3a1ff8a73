namespace Ballast.Protocol.Commands;

/// <summary>
/// Many <c>mg</c> requests to one server in one round trip: each in quiet mode (<c>q</c>, so a miss sends nothing)
/// with its own opaque token, closed by <c>mn</c>, whose <c>MN</c> answer ends the batch.
/// </summary>
internal sealed class MultiGetCommand : MetaCommand<GetResult[]>
{
    private readonly CacheKey[] _keys;
    private readonly GetResult[] _results;

    private readonly string? _subject;

    /// <summary>A batch of reads.</summary>
    /// <param name="keys">The keys.</param>
    /// <param name="subject">What the batch is, for messages, when it reads the pool's own keys (the shared view's records); null for an application's keys.</param>
    public MultiGetCommand(CacheKey[] keys, string? subject = null)
    {
        _keys = keys;
        _subject = subject;
        _results = new GetResult[keys.Length];
        Result = _results;
    }

    public override string? Key => _keys.Length == 0 ? null : _keys[0].Text;

    public override string Describe() => _subject ?? (_keys.Length > 1 ? $"{_keys.Length} keys ({_keys[0].Describe()}, ...)" : base.Describe());

    public override int OpaqueCount => _keys.Length;

    // A batch gets many responses; after an error in the middle nobody can say which of the rest are its own.
    public override bool ServerErrorKeepsConnection => false;

    public override void WriteRequest(RequestBuffer buffer)
    {
        for (var i = 0; i < _keys.Length; i++)
        {
            buffer.Write("mg "u8);
            _keys[i].WriteTo(buffer);
            buffer.Write(" v f c q"u8);
            if (_keys[i].IsBase64)
            {
                buffer.WriteFlag((byte)'b');
            }

            buffer.WriteFlag((byte)'O', unchecked(Opaque + (uint)i));
            buffer.WriteCrlf();
        }

        buffer.Write("mn\r\n"u8);
    }

    public override bool OnResponse(in MetaResponse response)
    {
        switch (response.Code)
        {
            case MetaResponseCode.NoOp:
                return true;
            case MetaResponseCode.Value:
                if (!response.TryGetFlag((byte)'O', out var token) || !ProtocolNumber.TryParse(token, uint.MaxValue, out var echoed))
                {
                    throw new MemcachedProtocolException($"a multi-get value carries no valid opaque token: '{response.ToString()}'");
                }

                var opaque = (uint)echoed;
                var index = unchecked(opaque - Opaque);
                if (index >= (uint)_keys.Length)
                {
                    throw new MemcachedProtocolException($"a multi-get value carries opaque O{opaque}, outside the batch's O{Opaque}..O{unchecked(Opaque + (uint)_keys.Length - 1)}");
                }

                if (_results[index].IsHit)
                {
                    // A second answer for one key would be a value nobody asked for (and memory a server could make
                    // the client spend without bound, one item size at a time).
                    throw new MemcachedProtocolException($"a multi-get batch got a second value for opaque O{opaque} (key '{_keys[index].Text}')");
                }

                _results[index] = GetCommand.FromValue(response);
                return false;
            default:
                throw new MemcachedProtocolException($"unexpected response '{response.ToString()}' in a multi-get batch");
        }
    }
}
