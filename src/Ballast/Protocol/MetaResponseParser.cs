using System.Buffers.Text;
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

    /// <summary>
    /// Parses one complete response at the start of <paramref name="buffer"/>. Returns false when more bytes are
    /// needed; <paramref name="needed"/> then says how many bytes the whole response takes when that is known
    /// (a <c>VA</c> header was read), so the caller can grow its buffer, or 0.
    /// </summary>
    /// <exception cref="MemcachedProtocolException">The bytes are not a memcached response.</exception>
    public static bool TryParse(ReadOnlySpan<byte> buffer, out MetaResponse response, out int consumed, out int needed)
    {
        response = default;
        consumed = 0;
        needed = 0;
        var lineEnd = buffer.IndexOf("\r\n"u8);
        if (lineEnd < 0)
        {
            if (buffer.Length > MaxLineLength)
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
            consumed = lineEnd + 2;
            return true;
        }

        // "VA <size> <flags>*": the size is the first token.
        var space = tokens.IndexOf((byte)' ');
        var sizeToken = space < 0 ? tokens : tokens[..space];
        if (!Utf8Parser.TryParse(sizeToken, out int size, out var used) || used != sizeToken.Length || size < 0)
        {
            throw new MemcachedProtocolException($"a VA response has the size '{Encoding.ASCII.GetString(sizeToken)}'");
        }

        var total = lineEnd + 2 + size + 2;
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
        consumed = total;
        return true;
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

        var shown = Encoding.ASCII.GetString(line[..Math.Min(line.Length, 64)]);
        throw new MemcachedProtocolException($"unexpected response line '{shown}'");
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
