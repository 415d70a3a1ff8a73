using System.Text;

namespace Ballast.Protocol.Commands;

/// <summary>
/// A classic text-protocol command with no key and no opaque token: <c>version</c>, <c>flush_all</c>, <c>stats</c>.
/// Its answer is checked by form (<c>VERSION</c>, <c>OK</c>, <c>STAT</c> lines closed by <c>END</c>).
/// </summary>
internal sealed class TextCommand : MetaCommand<IReadOnlyDictionary<string, string>>
{
    private readonly byte[] _request;
    private readonly MetaResponseCode _expected;
    /// <summary>
    /// Most <c>STAT</c> lines one answer may have. memcached's plain <c>stats</c> has about 90, its largest groups
    /// (<c>stats slabs</c>, <c>stats items</c>, 63 slab classes) under 1,500; a server that keeps sending them is
    /// refused instead of filling memory.
    /// </summary>
    public const int MaxStatLines = 4_096;

    /// <summary>
    /// Most bytes of <c>STAT</c> lines one answer may have (each line counted as sent, CRLF included): 256 KiB, over
    /// ten times memcached's largest group. Lines of up to 8 KiB each under the line cap would otherwise make one answer
    /// 32 MB, which the monitor would read every second.
    /// </summary>
    public const int MaxStatBytes = 256 * 1024;

    private readonly Dictionary<string, string> _lines = new(StringComparer.Ordinal);
    private readonly Action<IReadOnlyDictionary<string, string>>? _onAnswered;
    private int _statLines;
    private long _statBytes;

    private TextCommand(string request, MetaResponseCode expected, Action<IReadOnlyDictionary<string, string>>? onAnswered = null)
    {
        _onAnswered = onAnswered;
        _request = Encoding.ASCII.GetBytes(request + "\r\n");
        _expected = expected;
        Result = _lines;
    }

    public override string? Key => null;

    /// <summary>The command as sent, e.g. <c>'stats'</c>: what a timeout or a failure names.</summary>
    public override string Describe() => $"'{Encoding.ASCII.GetString(_request).TrimEnd()}'";

    public override int OpaqueCount => 0;

    /// <summary><c>version</c>: the answer has the key "version".</summary>
    public static TextCommand Version() => new("version", MetaResponseCode.Version);

    /// <summary><c>flush_all [delay]</c>.</summary>
    public static TextCommand FlushAll(long delaySeconds) => new(delaySeconds > 0 ? $"flush_all {delaySeconds}" : "flush_all", MetaResponseCode.Ok);

    /// <summary><c>stats [group]</c>: the answer maps each statistic to its value.</summary>
    public static TextCommand Stats(string? group = null) => new(group is null ? "stats" : $"stats {group}", MetaResponseCode.Stat);

    /// <summary>
    /// <c>stats</c> whose answer is handed to <paramref name="onAnswered"/> on the read loop, before any later response
    /// is read: what it throws closes the connection and fails every request behind it (the check of a server's start on
    /// a new connection, see <see cref="Pool.ServerStart"/>).
    /// </summary>
    public static TextCommand StatsChecked(Action<IReadOnlyDictionary<string, string>> onAnswered) => new("stats", MetaResponseCode.Stat, onAnswered);

    public override void WriteRequest(RequestBuffer buffer) => buffer.Write(_request);

    public override bool OnResponse(in MetaResponse response)
    {
        if (_expected == MetaResponseCode.Stat)
        {
            if (response.Code == MetaResponseCode.StatsEnd)
            {
                _onAnswered?.Invoke(_lines);
                return true;
            }

            if (response.Code == MetaResponseCode.Stat)
            {
                if (++_statLines > MaxStatLines)
                {
                    throw new MemcachedProtocolException($"the answer to '{Encoding.ASCII.GetString(_request).TrimEnd()}' has more than {MaxStatLines} STAT lines");
                }

                _statBytes += "STAT \r\n".Length + response.Tokens.Length;
                if (_statBytes > MaxStatBytes)
                {
                    throw new MemcachedProtocolException($"the answer to '{Encoding.ASCII.GetString(_request).TrimEnd()}' has more than {MaxStatBytes} bytes of STAT lines");
                }

                var text = response.Message;
                var space = text.IndexOf(' ', StringComparison.Ordinal);
                _lines[space < 0 ? text : text[..space]] = space < 0 ? string.Empty : text[(space + 1)..];
                return false;
            }
        }
        else if (response.Code == _expected)
        {
            if (_expected == MetaResponseCode.Version)
            {
                _lines["version"] = response.Message;
            }

            return true;
        }

        throw new MemcachedProtocolException($"unexpected response '{response.ToString()}' to '{Encoding.ASCII.GetString(_request).TrimEnd()}'");
    }
}
