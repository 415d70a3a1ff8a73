namespace Ballast.Protocol;

/// <summary>
/// Reads the numbers a server sends (sizes, opaque tokens, flags, CAS) by memcached's own spelling only: ASCII digits,
/// no sign, no leading zero, no trailing bytes, no overflow. Anything else (<c>01</c>, <c>+5</c>, <c>12abc</c>, 21
/// digits) is refused rather than read as something else, so a hostile server cannot smuggle one value past a check
/// as another.
/// </summary>
internal static class ProtocolNumber
{
    /// <summary>Parses <paramref name="token"/> as a canonical unsigned decimal; false when it is not one.</summary>
    public static bool TryParse(ReadOnlySpan<byte> token, out ulong value)
    {
        value = 0;
        if (token.IsEmpty || token.Length > 20 || (token[0] == (byte)'0' && token.Length > 1))
        {
            return false;
        }

        foreach (var b in token)
        {
            var digit = (uint)(b - '0');
            if (digit > 9)
            {
                value = 0;
                return false;
            }

            // 20 digits can exceed ulong; the check catches the overflow of the last step.
            if (value > (ulong.MaxValue - digit) / 10)
            {
                value = 0;
                return false;
            }

            value = (value * 10) + digit;
        }

        return true;
    }

    /// <summary>Parses a canonical unsigned decimal no larger than <paramref name="max"/>.</summary>
    public static bool TryParse(ReadOnlySpan<byte> token, ulong max, out ulong value)
        => TryParse(token, out value) && value <= max;
}
