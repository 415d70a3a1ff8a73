using System.Globalization;

namespace Ballast.Cli.Bench;

/// <summary>Parses durations written as a number and a unit: <c>500ms</c>, <c>10s</c>, <c>1m</c>, <c>1.5s</c>.</summary>
internal static class DurationParser
{
    /// <summary>Parses <paramref name="text"/>; a bare number is seconds.</summary>
    /// <exception cref="FormatException">The text is not a positive duration.</exception>
    public static TimeSpan Parse(string text)
    {
        if (!TryParse(text, out var value))
        {
            throw new FormatException($"'{text}' is not a duration: write it as a number with ms, s, m or h, e.g. 500ms, 10s, 1m.");
        }

        return value;
    }

    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var s = text.Trim().ToLowerInvariant();
        var unit = 1.0;
        string number;
        if (s.EndsWith("ms", StringComparison.Ordinal))
        {
            unit = 0.001;
            number = s[..^2];
        }
        else if (s.EndsWith('s'))
        {
            number = s[..^1];
        }
        else if (s.EndsWith('m'))
        {
            unit = 60;
            number = s[..^1];
        }
        else if (s.EndsWith('h'))
        {
            unit = 3600;
            number = s[..^1];
        }
        else
        {
            number = s;
        }

        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount)
            || amount <= 0
            || double.IsInfinity(amount))
        {
            return false;
        }

        value = TimeSpan.FromSeconds(amount * unit);
        return value > TimeSpan.Zero;
    }
}
