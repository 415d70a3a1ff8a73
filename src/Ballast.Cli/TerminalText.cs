using System.Globalization;
using System.Text;

namespace Ballast.Cli;

/// <summary>
/// Bytes from a server, or a value someone stored, made safe to show on a terminal: a terminal acts on control
/// characters (an escape sequence can set the window title, clear the screen, hide text or, in some terminals, write
/// to files), so they are shown as <c>\xNN</c> (<c>\uNNNN</c> for C1 controls and the bidirectional overrides that
/// reorder what is shown), as are bytes that are not UTF-8. Line feeds and tabs stay as they are; everything else
/// printable, in any script, is left alone.
/// </summary>
internal static class TerminalText
{
    /// <summary>The text of <paramref name="bytes"/> with every control character and invalid byte escaped.</summary>
    public static string Escape(ReadOnlySpan<byte> bytes)
    {
        var shown = new StringBuilder(bytes.Length);
        while (!bytes.IsEmpty)
        {
            if (Rune.DecodeFromUtf8(bytes, out var rune, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                shown.Append(CultureInfo.InvariantCulture, $"\\x{bytes[0]:X2}");
                bytes = bytes[1..];
                continue;
            }

            Append(shown, rune);
            bytes = bytes[consumed..];
        }

        return shown.ToString();
    }

    /// <summary><paramref name="text"/> with every control character escaped.</summary>
    public static string Escape(string text)
    {
        var shown = new StringBuilder(text.Length);
        foreach (var rune in text.EnumerateRunes())
        {
            Append(shown, rune);
        }

        return shown.ToString();
    }

    private static void Append(StringBuilder shown, Rune rune)
    {
        var value = rune.Value;
        if (value is '\n' or '\t')
        {
            shown.Append((char)value);
        }
        else if (value is < 0x20 or 0x7F)
        {
            shown.Append(CultureInfo.InvariantCulture, $"\\x{value:X2}");
        }
        else if (value is >= 0x80 and <= 0x9F or 0x061C or 0x200E or 0x200F or >= 0x202A and <= 0x202E or >= 0x2066 and <= 0x2069 || rune == Rune.ReplacementChar)
        {
            shown.Append(CultureInfo.InvariantCulture, $"\\u{value:X4}");
        }
        else
        {
            shown.Append(rune.ToString());
        }
    }
}
