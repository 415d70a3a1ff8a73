using System.Text;

namespace Ballast.Protocol;

/// <summary>
/// Cuts one response out of the bytes received so far. Works on spans of the receive buffer and allocates nothing;
/// a response that is not complete yet is left for the next read.
/// </summary>
internal static class MetaResponseParser
{
    /// <summary>Longest response line accepted. memcached's own lines are far shorter; a longer one means garbage.</summary>
    public const int MaxLineLength = 8192;

    /// <summary>memcached's largest item size limit (<c>-I 1g</c>): no value can be larger on any server.</summary>
    public const int MaxValueLength = 1024 * 1024 * 1024;

    /// <summary>Parses one response with no limit on values other than memcached's own (<see cref="MaxValueLength"/>).</summary>
    public static bool TryParse(ReadOnlySpan<byte> buffer, out MetaResponse response, out int consumed, out int needed)
        => TryParse(buffer, MaxValueLength, out response, out consumed, out needed);

    /// <summary>
    /// Parses one complete response at the start of <paramref name="buffer"/>. Returns false when more bytes are
    /// needed; <paramref name="needed"/> then says how many bytes the whole response takes when that is known
    /// (a <c>VA</c> header was read), so the caller can grow its buffer, or 0.
    /// </summary>
    /// <param name="buffer">The bytes received and not yet parsed.</param>
    /// <param name="maxValueLength">
    /// The largest value a <c>VA</c> header may announce (the item size limit). A larger one is refused before the
    /// caller allocates anything for it: a hostile or broken server could otherwise make it reserve gigabytes with a
    /// 20-byte line.
    /// </param>
    /// <param name="response">The response, pointing into <paramref name="buffer"/>.</param>
    /// <param name="consumed">Bytes the response took.</param>
    /// <param name="needed">Bytes the whole response takes, when more are needed and that is known; else 0.</param>
    /// <exception cref="MemcachedProtocolException">The bytes are not a memcached response.</exception>
    public static bool TryParse(ReadOnlySpan<byte> buffer, int maxValueLength, out MetaResponse response, out int consumed, out int needed)
    {
        response = default;
        consumed = 0;
        needed = 0;
        // Only the first MaxLineLength + 2 bytes are searched: a longer line is refused without scanning a whole value.
        var lineEnd = buffer[..Math.Min(buffer.Length, MaxLineLength + 2)].IndexOf("\r\n"u8);
        if (lineEnd < 0)
        {
            // Past MaxLineLength bytes only a CR whose LF has yet to come may still end an acceptable line.
            if (buffer.Length > MaxLineLength && !(buffer.Length == MaxLineLength + 1 && buffer[MaxLineLength] == (byte)'\r'))
            {
                throw new MemcachedProtocolException($"a response line is longer than {MaxLineLength} bytes without CRLF");
            }

            return false;
        }

        var line = buffer[..lineEnd];
        var code = ParseStatus(line, out var tokens);
        if (code != MetaResponseCode.Value)
        {
            response = new MetaResponse(code, tokens, default);
            RefuseDuplicateFlags(response, line);
            consumed = lineEnd + 2;
            return true;
        }

        // "VA <size> <flags>*": the size is the first token.
        var space = tokens.IndexOf((byte)' ');
        var sizeToken = space < 0 ? tokens : tokens[..space];
        if (!ProtocolNumber.TryParse(sizeToken, out var announced))
        {
            throw new MemcachedProtocolException($"a VA response has the size '{Shown(sizeToken)}', which is not a decimal number");
        }

        if (announced > (ulong)maxValueLength)
        {
            throw new MemcachedProtocolException($"a VA response announces a {announced}-byte value, more than the item size limit of {maxValueLength} bytes (MaxItemSize)");
        }

        // At most MaxLineLength + 4 + maxValueLength, which fits in an int for any item size limit memcached allows.
        var size = (int)announced;
        var total = checked(lineEnd + 2 + size + 2);
        if (buffer.Length < total)
        {
            needed = total;
            return false;
        }

        if (buffer[total - 2] != (byte)'\r' || buffer[total - 1] != (byte)'\n')
        {
            throw new MemcachedProtocolException($"a {size}-byte value is not followed by CRLF");
        }

        var flags = space < 0 ? default : tokens[(space + 1)..];
        response = new MetaResponse(MetaResponseCode.Value, flags, buffer.Slice(lineEnd + 2, size));
        RefuseDuplicateFlags(response, line);
        consumed = total;
        return true;
    }

    /// <summary>Up to 64 bytes of a token for a message, control bytes escaped, so a hostile line cannot forge log lines.</summary>
    internal static string Shown(ReadOnlySpan<byte> bytes)
    {
        var shown = bytes[..Math.Min(bytes.Length, 64)];
        var text = new StringBuilder(shown.Length + 8);
        foreach (var b in shown)
        {
            _ = b is >= 0x20 and < 0x7F ? text.Append((char)b) : text.Append(System.Globalization.CultureInfo.InvariantCulture, $"\\x{b:X2}");
        }

        return bytes.Length > shown.Length ? text.Append("...").ToString() : text.ToString();
    }

    private static void RefuseDuplicateFlags(in MetaResponse response, ReadOnlySpan<byte> line)
    {
        // A flag given twice (O5 ... O7) would be read by whichever lookup finds it first; memcached never does it.
        if (response.HasDuplicateFlag && response.Code is not (MetaResponseCode.Stat or MetaResponseCode.Version or MetaResponseCode.ClientError or MetaResponseCode.ServerError))
        {
            throw new MemcachedProtocolException($"the response line '{Shown(line)}' carries a return flag twice");
        }
    }

    private static MetaResponseCode ParseStatus(ReadOnlySpan<byte> line, out ReadOnlySpan<byte> tokens)
    {
        tokens = default;
        if (line.Length >= 2 && (line.Length == 2 || line[2] == (byte)' '))
        {
            var rest = line.Length > 3 ? line[3..] : default;
            MetaResponseCode? code = (line[0], line[1]) switch
            {
                ((byte)'V', (byte)'A') => MetaResponseCode.Value,
                ((byte)'H', (byte)'D') => MetaResponseCode.Header,
                ((byte)'E', (byte)'N') => MetaResponseCode.End,
                ((byte)'N', (byte)'S') => MetaResponseCode.NotStored,
                ((byte)'E', (byte)'X') => MetaResponseCode.Exists,
                ((byte)'N', (byte)'F') => MetaResponseCode.NotFound,
                ((byte)'M', (byte)'N') => MetaResponseCode.NoOp,
                ((byte)'O', (byte)'K') => MetaResponseCode.Ok,
                _ => null,
            };
            if (code is { } known)
            {
                tokens = rest;
                return known;
            }
        }

        if (TryWord(line, "STAT "u8, out var stat))
        {
            tokens = stat;
            return MetaResponseCode.Stat;
        }

        if (line.SequenceEqual("END"u8))
        {
            return MetaResponseCode.StatsEnd;
        }

        if (TryWord(line, "VERSION "u8, out var version))
        {
            tokens = version;
            return MetaResponseCode.Version;
        }

        if (line.SequenceEqual("ERROR"u8))
        {
            return MetaResponseCode.Error;
        }

        if (TryWord(line, "CLIENT_ERROR"u8, out var clientError))
        {
            tokens = clientError.TrimStart((byte)' ');
            return MetaResponseCode.ClientError;
        }

        if (TryWord(line, "SERVER_ERROR"u8, out var serverError))
        {
            tokens = serverError.TrimStart((byte)' ');
            return MetaResponseCode.ServerError;
        }

        throw new MemcachedProtocolException($"unexpected response line '{Shown(line)}'");
    }

    private static bool TryWord(ReadOnlySpan<byte> line, ReadOnlySpan<byte> word, out ReadOnlySpan<byte> rest)
    {
        if (line.StartsWith(word))
        {
            rest = line[word.Length..];
            return true;
        }

        rest = default;
        return false;
    }
}
