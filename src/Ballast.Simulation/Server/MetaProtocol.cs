using System.Buffers;
using System.Text;

namespace Ballast.Simulation.Server;

/// <summary>
/// memcached 1.6.18's text protocol as Ballast uses it: <c>mg</c>, <c>ms</c>, <c>md</c>, <c>ma</c>, <c>mn</c>,
/// <c>flush_all</c>, <c>version</c> and <c>stats</c>, ported from <c>proto_text.c</c> (process_mget_command,
/// process_mset_command, _finalize_mset, process_mdelete_command, process_marithmetic_command,
/// process_flush_all_command) and <c>memcached.c</c> (do_store_item, do_add_delta) with their answers to the byte.
/// Anything else is answered <c>ERROR</c>, as memcached answers an unknown command.
/// </summary>
internal static partial class MetaProtocol
{
    private const int KeyMaxLength = 250;
    private const int MaxOptionTokens = 20;
    private const int MaxOpaqueLength = 32;
    private const int ItemSizeMax = 1024 * 1024;

    /// <summary>memcached's reqs_per_event: after this many commands it writes the answers out (releasing the items they hold).</summary>
    private const int RequestsPerEvent = 20;

    /// <summary>
    /// Runs every complete command in <paramref name="input"/>, appending the answers to <paramref name="output"/>;
    /// returns the bytes consumed (a command whose line or data block is incomplete waits for more).
    /// </summary>
    public static int Process(SimulatedMemcached server, ReadOnlySpan<byte> input, IBufferWriter<byte> output, Action<ServedCommand>? served)
    {
        var consumed = 0;
        var tokens = new List<Token>(12);
        var held = new Batch();
        while (consumed < input.Length)
        {
            var rest = input[consumed..];
            var newline = rest.IndexOf((byte)'\n');
            if (newline < 0)
            {
                return consumed;
            }

            var line = rest[..newline];
            if (line.Length > 0 && line[^1] == (byte)'\r')
            {
                line = line[..^1];
            }

            Tokenize(line, tokens);
            var used = newline + 1;
            held.CommandStarts();
            if (tokens.Count >= 2 && tokens[0].Length == 2 && line[0] == (byte)'m' && line[1] == (byte)'s')
            {
                // A set carries a data block: wait for all of it before doing anything.
                var need = SetDataLength(line, tokens);
                if (need >= 0 && rest.Length < used + need)
                {
                    return consumed;
                }

                var data = need >= 0 ? rest.Slice(used, need) : ReadOnlySpan<byte>.Empty;
                used += Math.Max(need, 0);
                var outcome = MetaSet(server, line, tokens, data, output);
                served?.Invoke(outcome);
            }
            else
            {
                var outcome = Dispatch(server, line, tokens, output, held);
                if (outcome is { } done)
                {
                    served?.Invoke(done);
                }
            }

            consumed += used;
            held.CommandDone(mn: line.SequenceEqual("mn"u8));
        }

        return consumed;
    }

    private static ServedCommand? Dispatch(SimulatedMemcached server, ReadOnlySpan<byte> line, List<Token> tokens, IBufferWriter<byte> output, Batch held)
    {
        if (tokens.Count < 1 || tokens[0].Length < 2)
        {
            Write(output, "ERROR");
            return null;
        }

        var command = tokens[0].Of(line);
        if (tokens[0].Length == 2 && command[0] == (byte)'m')
        {
            switch (command[1])
            {
                case (byte)'g':
                    return MetaGet(server, line, tokens, output, held);
                case (byte)'d':
                    return MetaDelete(server, line, tokens, output);
                case (byte)'a':
                    return MetaArithmetic(server, line, tokens, output, held);
                case (byte)'n':
                    Write(output, "MN");
                    return new ServedCommand("mn", null, "MN", 0);
            }
        }
        else if (command.SequenceEqual("flush_all"u8))
        {
            return FlushAll(server, line, tokens, output);
        }
        else if (command.SequenceEqual("version"u8))
        {
            Write(output, "VERSION 1.6.18");
            return new ServedCommand("version", null, "VERSION", 0);
        }
        else if (command.SequenceEqual("stats"u8) && tokens.Count == 1)
        {
            Stats(server, output);
            return new ServedCommand("stats", null, "END", 0);
        }

        Write(output, "ERROR");
        return null;
    }

    private static ServedCommand FlushAll(SimulatedMemcached server, ReadOnlySpan<byte> line, List<Token> tokens, IBufferWriter<byte> output)
    {
        var noreply = tokens.Count >= 2 && tokens[^1].Of(line).SequenceEqual("noreply"u8);
        long delay = 0;
        if (tokens.Count != (noreply ? 2 : 1) && !SafeInt32(tokens[1].Of(line), out delay))
        {
            WriteUnlessQuiet(output, "CLIENT_ERROR invalid exptime argument", noreply);
            return new ServedCommand("flush_all", null, "CLIENT_ERROR", 0);
        }

        server.FlushAll(delay);
        WriteUnlessQuiet(output, "OK", noreply);
        return new ServedCommand("flush_all", null, "OK", (ulong)Math.Max(delay, 0));
    }

    private static void Stats(SimulatedMemcached server, IBufferWriter<byte> output)
    {
        var now = server.CurrentTime;

        // memcached's pid, uptime and time: a restart is a new process (the client tells its lives apart by them).
        Write(output, $"STAT pid {server.ProcessId}");
        Write(output, $"STAT uptime {now - SimulatedMemcached.StartOffset}");
        Write(output, $"STAT time {server.UnixTime}");
        Write(output, "STAT version 1.6.18");
        Write(output, $"STAT curr_items {server.ItemCount}");
        Write(output, $"STAT cmd_flush {server.FlushCommands}");
        Write(output, $"STAT evictions {server.Evictions}");
        Write(output, "END");
    }

    /// <summary>memcached's tokenize_command: words separated by one or more spaces.</summary>
    private static void Tokenize(ReadOnlySpan<byte> line, List<Token> tokens)
    {
        tokens.Clear();
        var start = 0;
        for (var i = 0; i <= line.Length; i++)
        {
            if (i == line.Length || line[i] == (byte)' ')
            {
                if (i > start)
                {
                    tokens.Add(new Token(start, i - start));
                }

                start = i + 1;
            }
        }
    }

    private static void Write(IBufferWriter<byte> output, string line)
    {
        var span = output.GetSpan(line.Length + 2);
        var n = Encoding.ASCII.GetBytes(line, span);
        span[n] = (byte)'\r';
        span[n + 1] = (byte)'\n';
        output.Advance(n + 2);
    }

    private static void WriteUnlessQuiet(IBufferWriter<byte> output, string line, bool quiet)
    {
        if (!quiet)
        {
            Write(output, line);
        }
    }

    private static void WriteBytes(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes)
    {
        var span = output.GetSpan(bytes.Length);
        bytes.CopyTo(span);
        output.Advance(bytes.Length);
    }

    /// <summary>
    /// The items held by answers not yet written out: a hit's answer keeps a reference to its item until memcached
    /// writes the answers, and an increment of an item someone holds makes a new item instead of changing it in place
    /// (do_add_delta's refcount). memcached writes them at <c>mn</c>, when the input runs out, and when it yields after
    /// <see cref="RequestsPerEvent"/> commands (drive_machine's nreqs: the command that follows a read is free, then
    /// each one counts, so the first batch of a read is one longer).
    /// </summary>
    private sealed class Batch
    {
        private readonly HashSet<CacheItem> _held = [];
        private int _requests = RequestsPerEvent;
        private bool _first = true;

        public void Hold(CacheItem item) => _held.Add(item);

        public bool Holds(CacheItem item) => _held.Contains(item);

        /// <summary>Called before each command: a yield writes the answers out.</summary>
        public void CommandStarts()
        {
            if (_first)
            {
                _first = false;
                return;
            }

            if (--_requests < 0)
            {
                _held.Clear();
                _requests = RequestsPerEvent - 1;
            }
        }

        public void CommandDone(bool mn)
        {
            if (mn)
            {
                _held.Clear();
            }
        }
    }

    /// <summary>A word of a command line: where it starts and how long it is.</summary>
    private readonly record struct Token(int Start, int Length)
    {
        public ReadOnlySpan<byte> Of(ReadOnlySpan<byte> line) => line.Slice(Start, Length);
    }
}
