using System.Globalization;
using System.Text;

namespace Ballast.SharedView;

/// <summary>
/// The shared record of one server: an epoch that grows by one at every transition, whether the server is down, and
/// who changed it when. Frontends merge copies by keeping the highest epoch, so the record converges without a
/// coordinator.
/// </summary>
/// <param name="Epoch">Transition count; at most <see cref="MaxEpoch"/>.</param>
/// <param name="IsDown">True while the server is fenced: nobody reads it until a flush readmits it.</param>
/// <param name="ChangedAtUnixMs">When the transition happened (writer's clock, informational).</param>
/// <param name="Writer">Which frontend wrote it (informational; at most <see cref="MaxWriterLength"/> printable characters).</param>
/// <param name="IsLost">
/// Never stored: set on an entry a read made up because no quorum of witnesses holds a valid record for the server
/// (a flush, a restart or an eviction erased it, or it was never written). The server is down until one frontend has
/// flushed it and written a new record (<see cref="ViewProtocol.RecoverLostAsync"/>).
/// </param>
internal readonly record struct ViewEntry(long Epoch, bool IsDown, long ChangedAtUnixMs, string Writer, bool IsLost = false)
{
    /// <summary>
    /// The largest epoch a record may carry: far above anything counting or the wall clock in milliseconds reaches
    /// (epochs of recovered records start at the writer's Unix time in ms), far below where adding one overflows.
    /// </summary>
    public const long MaxEpoch = 1L << 52;

    /// <summary>The longest writer text a record may carry: frontend ids are 8 hex digits.</summary>
    public const int MaxWriterLength = 32;

    /// <summary>The longest record (two numbers, a state, a writer and three spaces): anything longer is not one.</summary>
    public const int MaxEncodedLength = 20 + 1 + 1 + 1 + 20 + 1 + MaxWriterLength;

    public static ViewEntry Initial => new(0, false, 0, "-");

    /// <summary>A server whose record was lost: down, past every epoch this frontend has seen.</summary>
    public static ViewEntry Lost(long highestSeen, long nowUnixMs) => new(Math.Min(highestSeen + 1, MaxEpoch), true, nowUnixMs, LostWriter, IsLost: true);

    /// <summary>The writer of a lost record, and of the fence a recovery publishes for it: its flush is the recovery's, not a failback's.</summary>
    public const string LostWriter = "lost";

    /// <summary>A record whose flush belongs to the store's recovery of lost records (lost, or fenced by that recovery).</summary>
    public bool AwaitsRecovery => IsLost || (IsDown && Writer == LostWriter);

    /// <summary>
    /// A lost record of a server no witness and no read of this frontend ever knew (a brand-new pool: the lost epoch
    /// is the first). No frontend can have been told it is up, so its recovery need not wait the bound before the flush.
    /// </summary>
    public bool IsUnknownToEveryone => IsLost && Epoch <= 1;

    public byte[] Encode() => Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{Epoch} {(IsDown ? 'D' : 'U')} {ChangedAtUnixMs} {Writer}"));

    /// <summary>
    /// Parses a record strictly: <c>epoch D|U changedAtUnixMs writer</c>, ASCII, single spaces, decimal digits only,
    /// the epoch between 1 and <see cref="MaxEpoch"/>, the writer 1 to <see cref="MaxWriterLength"/> printable
    /// characters. Anything else is not a record (and counts as a lost one), whoever wrote it.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> bytes, out ViewEntry entry)
    {
        entry = default;
        if (bytes.Length is 0 or > MaxEncodedLength)
        {
            return false;
        }

        foreach (var b in bytes)
        {
            if (b is < 0x21 or > 0x7E && b != (byte)' ')
            {
                return false;
            }
        }

        var parts = Encoding.ASCII.GetString(bytes).Split(' ');
        if (parts.Length != 4
            || !TryParseBounded(parts[0], MaxEpoch, out var epoch)
            || epoch < 1
            || parts[1] is not ("D" or "U")
            || !TryParseBounded(parts[2], long.MaxValue, out var changed)
            || parts[3].Length is 0 or > MaxWriterLength)
        {
            return false;
        }

        entry = new ViewEntry(epoch, parts[1] == "D", changed, parts[3]);
        return true;
    }

    /// <summary>
    /// The fence to publish for this entry. A record found lost is fenced past the wall clock as well as past what
    /// this frontend has seen: its other copies were erased, but a replica that did not answer may still hold an older
    /// "up" record, at an epoch (its writer's clock in ms when written) that the lost entry's (seen + 1) need not
    /// pass. Fenced at seen + 1, the old "up" outranked the fence once that replica answered again, and the server was
    /// back in use with no flush (simulator seed offline 2009330). Any other entry is its own fence.
    /// </summary>
    public ViewEntry AsFence(long nowUnixMs) => IsLost ? this with { Epoch = Math.Min(Math.Max(Epoch, nowUnixMs), MaxEpoch), ChangedAtUnixMs = nowUnixMs, IsLost = false } : this;

    /// <summary>The entry that follows this one: down or up, one epoch later.</summary>
    public ViewEntry Next(bool down, long nowUnixMs, string writer) => new(Math.Min(Epoch + 1, MaxEpoch), down, nowUnixMs, writer);

    /// <summary>Why a server whose record this is was taken down, as a <c>ServerFailed</c> event tells it.</summary>
    public string DownDetail => IsLost ? "its shared-view record was lost (flush, restart or eviction); it is flushed before it is read" : $"fenced by frontend {ShownWriter}";

    /// <summary>The writer as it may be shown in an event or a log: printable ASCII, cut to the record's limit.</summary>
    public string ShownWriter => Shown(Writer);

    /// <summary>Escapes text that came from a store for display: control and non-ASCII characters as <c>\xNN</c>, cut to a bound.</summary>
    public static string Shown(string text)
    {
        var cut = text.Length > MaxWriterLength ? text[..MaxWriterLength] + "..." : text;
        return string.Concat(cut.Select(c => c is >= ' ' and <= '~' ? c.ToString() : $"\\x{(int)c:X2}"));
    }

    private static bool TryParseBounded(string digits, long max, out long value)
    {
        value = 0;
        if (digits.Length is 0 or > 19 || (digits.Length > 1 && digits[0] == '0'))
        {
            return false;
        }

        return long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value <= max;
    }
}
