using System.Globalization;
using System.Text;

namespace Ballast.SharedView;

/// <summary>
/// The shared record of one server: an epoch that grows by one at every transition, whether the server is down, and
/// who changed it when. Frontends merge copies by keeping the highest epoch, so the record converges without a
/// coordinator.
/// </summary>
/// <param name="Epoch">Transition count; 0 = never down.</param>
/// <param name="IsDown">True while the server is fenced: nobody reads it until a flush readmits it.</param>
/// <param name="ChangedAtUnixMs">When the transition happened (writer's clock, informational).</param>
/// <param name="Writer">Which frontend wrote it (informational).</param>
internal readonly record struct ViewEntry(long Epoch, bool IsDown, long ChangedAtUnixMs, string Writer)
{
    public static ViewEntry Initial => new(0, false, 0, "-");

    public byte[] Encode() => Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{Epoch} {(IsDown ? 'D' : 'U')} {ChangedAtUnixMs} {Writer}"));

    public static bool TryDecode(ReadOnlySpan<byte> bytes, out ViewEntry entry)
    {
        entry = default;
        var parts = Encoding.ASCII.GetString(bytes).Split(' ');
        if (parts.Length != 4
            || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var epoch)
            || parts[1] is not ("D" or "U")
            || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var changed))
        {
            return false;
        }

        entry = new ViewEntry(epoch, parts[1] == "D", changed, parts[3]);
        return true;
    }

    /// <summary>The entry that follows this one: down or up, one epoch later.</summary>
    public ViewEntry Next(bool down, long nowUnixMs, string writer) => new(Epoch + 1, down, nowUnixMs, writer);
}
