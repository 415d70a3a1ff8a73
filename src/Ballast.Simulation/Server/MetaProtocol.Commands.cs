using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace Ballast.Simulation.Server;

/// <summary>The meta commands themselves, in the order and with the words of memcached 1.6.18.</summary>
internal static partial class MetaProtocol
{
    private const string BadFormat = "CLIENT_ERROR bad command line format";

    /// <summary>Port of <c>_meta_flag_preparse</c>; the key token is decoded in place when <c>b</c> is given.</summary>
    /// <returns>Null when the flags are fine, else the error line.</returns>
    private static string? Preparse(SimulatedMemcached server, ReadOnlySpan<byte> line, List<Token> tokens, int start, ref MetaFlags flags, ref string key, string defaultError)
    {
        Span<bool> seen = stackalloc bool[127];
        var error = defaultError;
        for (var i = start; i < tokens.Count; i++)
        {
            var token = tokens[i].Of(line);
            var o = token[0];
            if (o >= 127 || seen[o])
            {
                return "CLIENT_ERROR duplicate flag";
            }

            seen[o] = true;
            var argument = token[1..];
            switch ((char)o)
            {
                case 'b':
                    if (!TryBase64(key, out var decoded))
                    {
                        error = "CLIENT_ERROR error decoding key";
                        flags.HasError = true;
                    }

                    key = decoded;
                    flags.KeyBinary = true;
                    break;
                case 'N' or 'T' or 'R':
                    // A time in seconds (or a Unix time past 30 days), as realtime() makes it memcached's.
                    flags.Locked = true;
                    if (!SafeInt32(argument, out var seconds))
                    {
                        error = "CLIENT_ERROR bad token in command line format";
                        flags.HasError = true;
                        break;
                    }

                    var time = server.RealTime(SimulatedMemcached.ToPositiveTime(seconds));
                    switch ((char)o)
                    {
                        case 'N':
                            flags.Vivify = true;
                            flags.AutovivExptime = time;
                            break;
                        case 'T':
                            flags.Exptime = time;
                            flags.NewTtl = true;
                            break;
                        default:
                            flags.RecacheTime = time;
                            break;
                    }

                    break;
                case 'l':
                case 'h':
                    flags.Locked = true;
                    break;
                case 'O' or 'P' or 'L' or 'k' or 's' or 't' or 'c' or 'f':
                    break;
                case 'v':
                    flags.Value = true;
                    break;
                case 'u':
                    flags.NoUpdate = true;
                    break;
                case 'q':
                    flags.NoReply = true;
                    break;
                case 'F':
                    if (!SafeUInt32(argument, out flags.ClientFlags))
                    {
                        flags.HasError = true;
                    }

                    break;
                case 'C':
                    if (!SafeUInt64(argument, out flags.RequestCas))
                    {
                        error = "CLIENT_ERROR bad token in command line format";
                        flags.HasError = true;
                    }
                    else
                    {
                        flags.HasCas = true;
                    }

                    break;
                case 'M':
                    if (token.Length != 2)
                    {
                        error = "CLIENT_ERROR incorrect length for M token";
                        flags.HasError = true;
                    }
                    else
                    {
                        flags.Mode = token[1];
                    }

                    break;
                case 'J':
                    if (!SafeUInt64(argument, out flags.Initial))
                    {
                        error = "CLIENT_ERROR invalid numeric initial value";
                        flags.HasError = true;
                    }

                    break;
                case 'D':
                    if (!SafeUInt64(argument, out flags.Delta))
                    {
                        error = "CLIENT_ERROR invalid numeric delta value";
                        flags.HasError = true;
                    }

                    break;
                case 'I':
                    flags.SetStale = true;
                    break;
                default:
                    return "CLIENT_ERROR invalid flag";
            }
        }

        return flags.HasError ? error : null;
    }

    private static ServedCommand MetaGet(SimulatedMemcached server, ReadOnlySpan<byte> line, List<Token> tokens, IBufferWriter<byte> output, Batch held)
    {
        var flags = default(MetaFlags);
        if (Prologue("mg", server, line, tokens, output, ref flags, out var key, "CLIENT_ERROR options flags are too long", null) is { } refused)
        {
            return refused;
        }

        var item = server.Get(key);
        if (item is not null && !flags.Locked && !flags.NoUpdate)
        {
            server.Bump(item);
        }

        var created = false;
        if (item is null && flags.Vivify)
        {
            // memcached marks a key binary only on items ms stores; a placeholder's k flag shows the raw key.
            item = new CacheItem(key, [], 0, 0, binaryKey: false);
            server.Link(item);
            created = true;
        }

        var head = new StringBuilder(48);
        if (item is null)
        {
            head.Append("EN");
            if (AppendOpaqueAndKey(head, line, tokens, key, flags.KeyBinary) is { } tooLong)
            {
                Write(output, tooLong);
                return new ServedCommand("mg", key, "CLIENT_ERROR", 0);
            }

            WriteUnlessQuiet(output, head.ToString(), flags.NoReply);
            return new ServedCommand("mg", key, "EN", 0);
        }

        var won = false;
        head.Append(flags.Value ? $"VA {item.Value.Length}" : "HD");
        for (var i = 2; i < tokens.Count; i++)
        {
            var token = tokens[i].Of(line);
            switch ((char)token[0])
            {
                case 'T':
                    item.Exptime = flags.Exptime;
                    break;
                case 'N':
                    if (created)
                    {
                        item.Exptime = flags.AutovivExptime;
                        won = true;
                    }

                    break;
                case 'R':
                    if (!item.TokenSent && !created && item.Exptime != 0 && item.Exptime < flags.RecacheTime)
                    {
                        won = true;
                    }

                    break;
                case 's':
                    head.Append(" s").Append(item.Value.Length);
                    break;
                case 't':
                    head.Append(" t").Append(item.Exptime == 0 ? "-1" : unchecked(item.Exptime - server.CurrentTime).ToString(System.Globalization.CultureInfo.InvariantCulture));
                    break;
                case 'c':
                    head.Append(" c").Append(item.Cas);
                    break;
                case 'f':
                    head.Append(" f").Append(item.Flags);
                    break;
                case 'l':
                    head.Append(" l").Append(unchecked(server.CurrentTime - item.Time));
                    break;
                case 'h':
                    head.Append(item.Fetched ? " h1" : " h0");
                    break;
                case 'O':
                    if (token.Length > MaxOpaqueLength)
                    {
                        Write(output, "CLIENT_ERROR opaque token too long");
                        return new ServedCommand("mg", key, "CLIENT_ERROR", 0);
                    }

                    head.Append(' ').Append(Latin1(token));
                    break;
                case 'k':
                    AppendKey(head, key, item.BinaryKey);
                    break;
            }
        }

        if (item.TokenSent)
        {
            head.Append(" Z");
        }

        if (item.Stale)
        {
            head.Append(" X");
            won |= !item.TokenSent;
        }

        if (won)
        {
            head.Append(" W");
            item.TokenSent = true;
        }

        Write(output, head.ToString());
        held.Hold(item);
        if (flags.Value)
        {
            WriteBytes(output, item.Value);
            WriteBytes(output, "\r\n"u8);
        }

        if (flags.Locked && !flags.NoUpdate)
        {
            server.Bump(item);
        }

        return new ServedCommand("mg", key, won ? (flags.Value ? "VA W" : "HD W") : (flags.Value ? "VA" : "HD"), 0, item.Value);
    }

    private static ServedCommand MetaDelete(SimulatedMemcached server, ReadOnlySpan<byte> line, List<Token> tokens, IBufferWriter<byte> output)
    {
        var flags = default(MetaFlags);
        if (Prologue("md", server, line, tokens, output, ref flags, out var key, "CLIENT_ERROR options flags too long", "CLIENT_ERROR invalid or duplicate flag") is { } refused)
        {
            return refused;
        }

        var tail = new StringBuilder();
        if (AppendOpaqueAndKey(tail, line, tokens, key, flags.KeyBinary) is { } tooLong)
        {
            Write(output, tooLong);
            return new ServedCommand("md", key, "CLIENT_ERROR", 0);
        }

        var item = server.Get(key);
        string code;
        var quiet = false;
        if (item is null)
        {
            code = "NF";
        }
        else if (flags.HasCas && item.Cas != flags.RequestCas)
        {
            code = "EX";
        }
        else
        {
            if (flags.SetStale)
            {
                if (flags.NewTtl)
                {
                    item.Exptime = flags.Exptime;
                }

                item.Stale = true;
                item.TokenSent = false;
                item.Cas = server.NextCas();
            }
            else
            {
                server.Unlink(item);
            }

            code = "HD";
            quiet = flags.NoReply;
        }

        WriteUnlessQuiet(output, code + tail, quiet);
        return new ServedCommand("md", key, code, 0);
    }

    private static ServedCommand MetaArithmetic(SimulatedMemcached server, ReadOnlySpan<byte> line, List<Token> tokens, IBufferWriter<byte> output, Batch held)
    {
        var flags = new MetaFlags { Delta = 1 };
        if (Prologue("ma", server, line, tokens, output, ref flags, out var key, "CLIENT_ERROR options flags too long", "CLIENT_ERROR invalid or duplicate flag") is { } refused)
        {
            return refused;
        }

        bool increment;
        switch ((char)flags.Mode)
        {
            case '\0' or 'I' or '+':
                increment = true;
                break;
            case 'D' or '-':
                increment = false;
                break;
            default:
                Write(output, "CLIENT_ERROR invalid mode for ma M token");
                return new ServedCommand("ma", key, "CLIENT_ERROR", 0);
        }

        CacheItem? item = null;
        var created = false;
        ulong value = 0;
        string? code = null;
        var quiet = false;
        var existing = server.Get(key);
        if (existing is null)
        {
            if (flags.Vivify)
            {
                value = flags.Initial;
                item = new CacheItem(key, Encoding.ASCII.GetBytes(value.ToString(System.Globalization.CultureInfo.InvariantCulture)), 0, 0, binaryKey: false);
                server.Link(item);
                created = true;
            }
            else
            {
                code = "NF";
            }
        }
        else if (existing.Value.Length == 0)
        {
            Write(output, "CLIENT_ERROR cannot increment or decrement non-numeric value");
            return new ServedCommand("ma", key, "CLIENT_ERROR", 0);
        }
        else if (flags.RequestCas != 0 && existing.Cas != flags.RequestCas)
        {
            code = "EX";
        }
        else if (!StoredNumber(existing.Value, out var current))
        {
            Write(output, "CLIENT_ERROR cannot increment or decrement non-numeric value");
            return new ServedCommand("ma", key, "CLIENT_ERROR", 0);
        }
        else
        {
            value = increment ? unchecked(current + flags.Delta) : (flags.Delta > current ? 0 : current - flags.Delta);
            var digits = Encoding.ASCII.GetBytes(value.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (digits.Length <= existing.Value.Length && !held.Holds(existing))
            {
                // In place, padded with spaces to the old length, with a new CAS (do_add_delta).
                var padded = new byte[existing.Value.Length];
                padded.AsSpan().Fill((byte)' ');
                digits.CopyTo(padded, 0);
                existing.Cas = server.NextCas();
                server.Resize(existing, padded);
                server.Update(existing);
                item = existing;
            }
            else
            {
                item = new CacheItem(key, digits, existing.Flags, existing.Exptime, binaryKey: false);
                server.Replace(existing, item);
            }

            quiet = flags.NoReply;
        }

        var head = new StringBuilder();
        if (item is not null)
        {
            var text = value.ToString(System.Globalization.CultureInfo.InvariantCulture);
            head.Append(flags.Value ? $"VA {text.Length}" : "HD");
            for (var i = 2; i < tokens.Count; i++)
            {
                var token = tokens[i].Of(line);
                switch ((char)token[0])
                {
                    case 'c':
                        head.Append(" c").Append(item.Cas);
                        break;
                    case 't':
                        head.Append(" t").Append(item.Exptime == 0 ? "-1" : unchecked(item.Exptime - server.CurrentTime).ToString(System.Globalization.CultureInfo.InvariantCulture));
                        break;
                    case 'T':
                        item.Exptime = flags.Exptime;
                        break;
                    case 'N':
                        if (created)
                        {
                            item.Exptime = flags.AutovivExptime;
                        }

                        break;
                    case 'O':
                        if (token.Length > MaxOpaqueLength)
                        {
                            Write(output, "CLIENT_ERROR opaque token too long");
                            return new ServedCommand("ma", key, "CLIENT_ERROR", 0);
                        }

                        head.Append(' ').Append(Latin1(token));
                        break;
                    case 'k':
                        AppendKey(head, key, flags.KeyBinary);
                        break;
                }
            }

            if (!quiet)
            {
                Write(output, head.ToString());
                if (flags.Value)
                {
                    Write(output, text);
                }
            }

            return new ServedCommand("ma", key, flags.Value ? "VA" : "HD", value);
        }

        head.Append(code);
        if (AppendOpaqueAndKey(head, line, tokens, key, flags.KeyBinary) is { } tooLong)
        {
            Write(output, tooLong);
            return new ServedCommand("ma", key, "CLIENT_ERROR", 0);
        }

        Write(output, head.ToString());
        return new ServedCommand("ma", key, code!, 0);
    }

    /// <summary>
    /// What mg, md and ma check before they look the key up: at least a key, a key of at most 250 bytes, not too
    /// many flags, and flags that parse. Returns the refusal (already answered) or null, with the key decoded.
    /// </summary>
    private static ServedCommand? Prologue(string command, SimulatedMemcached server, ReadOnlySpan<byte> line, List<Token> tokens, IBufferWriter<byte> output, ref MetaFlags flags, out string key, string tooManyFlags, string? flagError)
    {
        key = tokens.Count > 1 ? Latin1(tokens[1].Of(line)) : string.Empty;
        if (tokens.Count < 2)
        {
            Write(output, "ERROR");
            return new ServedCommand(command, null, "ERROR", 0);
        }

        if (tokens[1].Length > KeyMaxLength || tokens.Count + 1 > MaxOptionTokens)
        {
            Write(output, tokens[1].Length > KeyMaxLength ? BadFormat : tooManyFlags);
            return new ServedCommand(command, key, "CLIENT_ERROR", 0);
        }

        if (Preparse(server, line, tokens, 2, ref flags, ref key, BadFormat) is { } error)
        {
            Write(output, flagError ?? error);
            return new ServedCommand(command, key, "CLIENT_ERROR", 0);
        }

        return null;
    }

    /// <summary>Appends the <c>O</c> and <c>k</c> return flags in request order; the error line when an opaque is too long.</summary>
    private static string? AppendOpaqueAndKey(StringBuilder head, ReadOnlySpan<byte> line, List<Token> tokens, string key, bool binary)
    {
        for (var i = 2; i < tokens.Count; i++)
        {
            var token = tokens[i].Of(line);
            if (token[0] == (byte)'O')
            {
                if (token.Length > MaxOpaqueLength)
                {
                    return "CLIENT_ERROR opaque token too long";
                }

                head.Append(' ').Append(Latin1(token));
            }
            else if (token[0] == (byte)'k')
            {
                AppendKey(head, key, binary);
            }
        }

        return null;
    }

    private static void AppendKey(StringBuilder head, string key, bool binary)
    {
        head.Append(" k");
        if (!binary)
        {
            head.Append(key);
            return;
        }

        head.Append(Convert.ToBase64String(Encoding.Latin1.GetBytes(key))).Append(" b");
    }

    private static string Latin1(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);

    private static bool TryBase64(string text, out string decoded)
    {
        var source = Encoding.Latin1.GetBytes(text);
        var buffer = new byte[source.Length];
        if (Base64.DecodeFromUtf8(source, buffer, out _, out var written) != OperationStatus.Done || written == 0)
        {
            decoded = string.Empty;
            return false;
        }

        decoded = Encoding.Latin1.GetString(buffer, 0, written);
        return true;
    }

    /// <summary>memcached's safe_strtol: a 32-bit decimal, optionally signed, ending at the token's end.</summary>
    private static bool SafeInt32(ReadOnlySpan<byte> text, out long value)
    {
        value = 0;
        return text.Length > 0 && Utf8Parser.TryParse(text, out int parsed, out var used) && used == text.Length && (value = parsed) == parsed;
    }

    private static bool SafeUInt32(ReadOnlySpan<byte> text, out uint value)
    {
        value = 0;
        return text.Length > 0 && Utf8Parser.TryParse(text, out value, out var used) && used == text.Length;
    }

    /// <summary>A flag's number: decimal digits to the token's end.</summary>
    private static bool SafeUInt64(ReadOnlySpan<byte> text, out ulong value)
    {
        value = 0;
        return text.Length > 0 && Utf8Parser.TryParse(text, out value, out var used) && used == text.Length;
    }

    /// <summary>
    /// memcached's safe_strtoull over an item's data (which memcached keeps followed by CRLF): strtoull's leading
    /// white space and sign, digits up to the first non-digit, which must be white space or the end; no overflow; a
    /// minus sign only when the result is not negative as a signed number ("-0").
    /// </summary>
    private static bool StoredNumber(ReadOnlySpan<byte> data, out ulong value)
    {
        value = 0;
        var i = 0;
        while (i < data.Length && IsSpace(data[i]))
        {
            i++;
        }

        var negative = false;
        if (i < data.Length && data[i] is (byte)'+' or (byte)'-')
        {
            negative = data[i] == (byte)'-';
            i++;
        }

        var digits = 0;
        ulong number = 0;
        for (; i < data.Length && data[i] is >= (byte)'0' and <= (byte)'9'; i++, digits++)
        {
            var next = (number * 10) + (ulong)(data[i] - '0');
            if (number > (ulong.MaxValue - 9) / 10 && (next / 10 != number || next < number))
            {
                return false;
            }

            number = next;
        }

        if (digits == 0 || (i < data.Length && !IsSpace(data[i])))
        {
            return false;
        }

        value = negative ? unchecked(0 - number) : number;
        return !(negative && (long)value < 0);
    }

    private static bool IsSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\v' or (byte)'\f' or (byte)'\r';
}
