using System.Buffers.Text;
using System.Text;

namespace Ballast.Protocol;

/// <summary>
/// One parsed response, pointing into the connection's receive buffer. Valid only during the call that receives it:
/// whatever must outlive that call (the value) is copied by the operation.
/// </summary>
internal readonly ref struct MetaResponse
{
    // One bit per return-flag letter present on the line, found in one pass when the response is cut out: asking
    // for an absent flag (W, Z and X on nearly every get) is then a bit test instead of a scan of the line.
    private readonly ulong _present;

    public MetaResponse(MetaResponseCode code, ReadOnlySpan<byte> tokens, ReadOnlySpan<byte> value)
    {
        Code = code;
        Tokens = tokens;
        Value = value;
        var atTokenStart = true;
        foreach (var b in tokens)
        {
            if (atTokenStart && FlagBit(b) is var bit and not 0)
            {
                HasDuplicateFlag |= (_present & bit) != 0;
                _present |= bit;
            }

            atTokenStart = b == (byte)' ';
        }
    }

    public MetaResponseCode Code { get; }

    /// <summary>True when a token letter appears twice; for flag-carrying responses the parser refuses such a line.</summary>
    public bool HasDuplicateFlag { get; }

    /// <summary>What follows the status word on the line: return flags (<c>c123 f5 O7</c>) or a message.</summary>
    public ReadOnlySpan<byte> Tokens { get; }

    /// <summary>The data block of a <c>VA</c> response, without its trailing CRLF.</summary>
    public ReadOnlySpan<byte> Value { get; }

    /// <summary>Finds a return flag such as <c>c</c> (CAS) and gives its token; false when it is absent.</summary>
    public bool TryGetFlag(byte flag, out ReadOnlySpan<byte> token)
    {
        if (FlagBit(flag) is var bit and not 0 && (_present & bit) == 0)
        {
            token = default;
            return false;
        }

        var rest = Tokens;
        while (!rest.IsEmpty)
        {
            var space = rest.IndexOf((byte)' ');
            var item = space < 0 ? rest : rest[..space];
            rest = space < 0 ? default : rest[(space + 1)..];
            if (!item.IsEmpty && item[0] == flag)
            {
                token = item[1..];
                return true;
            }
        }

        token = default;
        return false;
    }

    public bool HasFlag(byte flag) => TryGetFlag(flag, out _);

    /// <summary>A numeric return flag no larger than <paramref name="max"/>; 0 when absent.</summary>
    /// <exception cref="MemcachedProtocolException">The token is not a canonical decimal, or exceeds <paramref name="max"/>.</exception>
    public ulong GetUInt64Flag(byte flag, ulong max = ulong.MaxValue)
    {
        if (!TryGetFlag(flag, out var token))
        {
            return 0;
        }

        if (!ProtocolNumber.TryParse(token, max, out var value))
        {
            throw new MemcachedProtocolException($"the return flag '{(char)flag}' carries '{MetaResponseParser.Shown(token)}', which is not a decimal number of at most {max}");
        }

        return value;
    }

    public long GetInt64Flag(byte flag, long missing)
    {
        if (!TryGetFlag(flag, out var token))
        {
            return missing;
        }

        if (!Utf8Parser.TryParse(token, out long value, out var consumed) || consumed != token.Length)
        {
            throw new MemcachedProtocolException($"the return flag '{(char)flag}' carries '{MetaResponseParser.Shown(token)}', which is not a number");
        }

        return value;
    }

    public string Message => Encoding.UTF8.GetString(Tokens);

    /// <summary>The bit of a flag letter (A-Z, a-z); 0 for anything else, which is then looked up by a scan.</summary>
    private static ulong FlagBit(byte flag) => flag switch
    {
        >= (byte)'A' and <= (byte)'Z' => 1UL << (flag - 'A'),
        >= (byte)'a' and <= (byte)'z' => 1UL << (26 + flag - 'a'),
        _ => 0,
    };

    public override string ToString() => $"{Code} {Message}";
}
