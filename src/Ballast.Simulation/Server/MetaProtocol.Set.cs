using System.Buffers;
using System.Text;

namespace Ballast.Simulation.Server;

/// <summary><c>ms</c>: process_mset_command, complete_nread_ascii, do_store_item and _finalize_mset.</summary>
internal static partial class MetaProtocol
{
    private enum StoreOutcome
    {
        Stored,
        NotStored,
        Exists,
        NotFound,
    }

    /// <summary>
    /// The bytes of data that follow an <c>ms</c> line (its length plus CRLF), or -1 when memcached reads none: it
    /// answers such lines before knowing the length, and the data is then read as the next command.
    /// </summary>
    private static int SetDataLength(ReadOnlySpan<byte> line, List<Token> tokens)
    {
        if (tokens.Count < 3 || tokens[1].Length > KeyMaxLength || tokens.Count + 1 > MaxOptionTokens)
        {
            return -1;
        }

        return SafeInt32(tokens[2].Of(line), out var length) && length >= 0 && length <= int.MaxValue - 2 ? (int)length + 2 : -1;
    }

    private static ServedCommand MetaSet(SimulatedMemcached server, ReadOnlySpan<byte> line, List<Token> tokens, ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        var key = tokens.Count > 1 ? Latin1(tokens[1].Of(line)) : null;
        if (tokens.Count < 2)
        {
            Write(output, "ERROR");
            return new ServedCommand("ms", null, "ERROR", 0);
        }

        if (tokens[1].Length > KeyMaxLength || tokens.Count == 2)
        {
            Write(output, BadFormat);
            return new ServedCommand("ms", key, "CLIENT_ERROR", 0);
        }

        if (tokens.Count + 1 > MaxOptionTokens)
        {
            Write(output, "CLIENT_ERROR options flags too long");
            return new ServedCommand("ms", key, "CLIENT_ERROR", 0);
        }

        if (data.Length == 0)
        {
            // The length did not parse, or was negative: answered, and nothing is swallowed.
            Write(output, BadFormat);
            return new ServedCommand("ms", key, "CLIENT_ERROR", 0);
        }

        var flags = default(MetaFlags);
        if (Preparse(server, line, tokens, 3, ref flags, ref key!, BadFormat) is { } error)
        {
            Write(output, error);
            return new ServedCommand("ms", key, "CLIENT_ERROR", 0);
        }

        // The return flags are noted in request order (from the length token on, as memcached's loop does).
        var returned = new List<(char Flag, string Text)>();
        for (var i = 2; i < tokens.Count; i++)
        {
            var token = tokens[i].Of(line);
            switch ((char)token[0])
            {
                case 'O':
                    if (token.Length > MaxOpaqueLength)
                    {
                        Write(output, "CLIENT_ERROR opaque token too long");
                        return new ServedCommand("ms", key, "CLIENT_ERROR", 0);
                    }

                    returned.Add(('O', Latin1(token)));
                    break;
                case 'k':
                    returned.Add(('k', string.Empty));
                    break;
                case 'c':
                    returned.Add(('c', string.Empty));
                    break;
            }
        }

        var mode = (char)flags.Mode;
        if (mode is not ('\0' or 'E' or 'A' or 'P' or 'R' or 'S'))
        {
            Write(output, "CLIENT_ERROR invalid mode for ms M token");
            return new ServedCommand("ms", key, "CLIENT_ERROR", 0);
        }

        var cas = flags.HasCas && mode is '\0' or 'S' or 'R';
        var length = data.Length - 2;
        if (length + key.Length + 50 > ItemSizeMax)
        {
            // item_alloc failed: the old value is unlinked so it does not outlive a set that could not be stored.
            if (server.Get(key) is { } stale)
            {
                server.Unlink(stale);
            }

            Write(output, "SERVER_ERROR object too large for cache");
            return new ServedCommand("ms", key, "SERVER_ERROR", 0);
        }

        if (data[^2] != (byte)'\r' || data[^1] != (byte)'\n')
        {
            Write(output, "CLIENT_ERROR bad data chunk");
            return new ServedCommand("ms", key, "CLIENT_ERROR", 0);
        }

        var item = new CacheItem(key, data[..length].ToArray(), flags.ClientFlags, flags.NewTtl ? flags.Exptime : 0, flags.KeyBinary) { Cas = flags.RequestCas };
        var outcome = Store(server, item, cas ? 'C' : mode, flags.SetStale && cas, out var storedCas);
        var head = new StringBuilder(outcome switch
        {
            StoreOutcome.Stored => "HD",
            StoreOutcome.Exists => "EX",
            StoreOutcome.NotFound => "NF",
            _ => "NS",
        });
        foreach (var (flag, text) in returned)
        {
            switch (flag)
            {
                case 'O':
                    head.Append(' ').Append(text);
                    break;
                case 'k':
                    AppendKey(head, key, flags.KeyBinary);
                    break;
                default:
                    head.Append(" c").Append(storedCas);
                    break;
            }
        }

        WriteUnlessQuiet(output, head.ToString(), outcome == StoreOutcome.Stored && flags.NoReply);
        return new ServedCommand("ms", key, head.ToString(0, 2), 0, item.Value);
    }

    /// <summary>do_store_item, with the command as memcached's comm: S(et), E (add), A(ppend), P(repend), R(eplace), C(AS).</summary>
    private static StoreOutcome Store(SimulatedMemcached server, CacheItem item, char command, bool setStale, out ulong storedCas)
    {
        storedCas = 0;
        var old = server.Get(item.Key);
        if (old is null)
        {
            switch (command)
            {
                case '\0' or 'S' or 'E':
                    server.Link(item);
                    storedCas = item.Cas;
                    return StoreOutcome.Stored;
                case 'C':
                    return StoreOutcome.NotFound;
                default:
                    return StoreOutcome.NotStored;
            }
        }

        var requested = item.Cas;
        var match = requested != 0 && requested == old.Cas;
        var staleAllowed = requested != 0 && !match && setStale && requested < old.Cas;
        var anyCas = requested != 0;
        switch (command)
        {
            case 'E':
                server.Update(old);
                return StoreOutcome.NotStored;
            case 'C':
                if (match)
                {
                    break;
                }

                if (staleAllowed)
                {
                    item.Exptime = old.Exptime;
                    item.Stale = true;
                    item.TokenSent = old.TokenSent;
                    break;
                }

                return StoreOutcome.Exists;
            case 'A' or 'P':
                if (anyCas && !match)
                {
                    return StoreOutcome.Exists;
                }

                var joined = command == 'A' ? [.. old.Value, .. item.Value] : (byte[])[.. item.Value, .. old.Value];
                // A new item (do_item_alloc): the binary-key mark is not carried over, as in memcached.
                item = new CacheItem(old.Key, joined, old.Flags, old.Exptime, binaryKey: false);
                break;
        }

        server.Replace(old, item);
        storedCas = item.Cas;
        return StoreOutcome.Stored;
    }
}
