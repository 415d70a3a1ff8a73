using System.Globalization;

namespace Ballast;

/// <summary>
/// One memcached server of a pool: a host, a port and a weight, written <c>host:port[:weight]</c>, or
/// <c>[ipv6]:port[:weight]</c> for an IPv6 address.
/// </summary>
/// <remarks>
/// The host is kept exactly as written (no DNS resolution), because key distributions hash the server's name:
/// PHP's extensions hash <c>host:port</c> as the application wrote it, so <c>localhost</c> and <c>127.0.0.1</c>
/// place keys differently.
/// </remarks>
public sealed record ServerEndPoint
{
    /// <summary>The default memcached port, 11211.</summary>
    public const int DefaultPort = 11211;

    /// <summary>Creates an endpoint.</summary>
    /// <param name="host">Host name or IP address, as the application writes it.</param>
    /// <param name="port">TCP port, 1 to 65535. Default 11211.</param>
    /// <param name="weight">Relative weight in the key distribution, 1 or more. Default 1.</param>
    /// <exception cref="ArgumentException">
    /// The host is empty or has spaces or control characters (a CR/LF in a host name would reach logs, errors and the
    /// key distribution's hashed names), or the port or weight is out of range.
    /// </exception>
    public ServerEndPoint(string host, int port = DefaultPort, int weight = 1)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        if (host.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)) || host.Contains('[', StringComparison.Ordinal) || host.Contains(']', StringComparison.Ordinal))
        {
            throw new ArgumentException($"Server '{Printable(host)}': a host must have no spaces, control characters or brackets.", nameof(host));
        }

        if (port is < 1 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(port), port, $"Server '{host}': the port must be between 1 and 65535.");
        }

        if (weight < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(weight), weight, $"Server '{host}:{port}': the weight must be 1 or more.");
        }

        Host = host;
        Port = port;
        Weight = weight;
    }

    /// <summary>Host name or IP address, as written.</summary>
    public string Host { get; }

    /// <summary>TCP port.</summary>
    public int Port { get; }

    /// <summary>Relative weight in the key distribution (1 or more).</summary>
    public int Weight { get; }

    /// <summary>
    /// Parses <c>host:port[:weight]</c> or <c>[ipv6]:port[:weight]</c>; the port defaults to 11211 and the weight to 1.
    /// </summary>
    /// <exception cref="FormatException">The text is not of that form; the message names the text and the rule.</exception>
    public static ServerEndPoint Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Any(char.IsControl))
        {
            throw new FormatException($"Server '{Printable(text)}': control characters (CR, LF, ...) are not allowed.");
        }

        var trimmed = text.Trim();
        string[] parts;
        if (trimmed.StartsWith('['))
        {
            var close = trimmed.IndexOf(']', StringComparison.Ordinal);
            var after = close < 0 ? string.Empty : trimmed[(close + 1)..];
            if (close < 2 || (after.Length > 0 && after[0] != ':') || !System.Net.IPAddress.TryParse(trimmed[1..close], out var address) || address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
            {
                throw new FormatException($"Server '{text}': expected [ipv6-address]:port[:weight].");
            }

            parts = [trimmed[1..close], .. after.Length == 0 ? Array.Empty<string>() : after[1..].Split(':')];
        }
        else
        {
            parts = trimmed.Split(':');
            if (parts.Length > 3)
            {
                throw new FormatException($"Server '{text}': expected host:port[:weight]; write an IPv6 address in brackets, [::1]:11211.");
            }
        }

        if (parts.Length is < 1 or > 3 || parts[0].Length == 0 || parts[0].Any(char.IsWhiteSpace))
        {
            throw new FormatException($"Server '{text}': expected host:port[:weight].");
        }

        var port = DefaultPort;
        if (parts.Length >= 2 && (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
        {
            throw new FormatException($"Server '{text}': the port must be a number from 1 to 65535.");
        }

        var weight = 1;
        if (parts.Length == 3 && (!int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out weight) || weight < 1))
        {
            throw new FormatException($"Server '{text}': the weight must be a whole number of 1 or more.");
        }

        return new ServerEndPoint(parts[0], port, weight);
    }

    /// <summary>Parses a comma-separated list of <c>host:port[:weight]</c>.</summary>
    /// <exception cref="FormatException">An entry is malformed, or the list is empty.</exception>
    public static IReadOnlyList<ServerEndPoint> ParseList(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var list = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Parse).ToList();
        if (list.Count == 0)
        {
            throw new FormatException("The server list is empty: expected host:port[:weight],...");
        }

        return list;
    }

    /// <summary><c>host:port</c> (<c>[ipv6]:port</c>), the name used in errors, events and the CLI.</summary>
    public override string ToString() => Host.Contains(':', StringComparison.Ordinal)
        ? string.Create(CultureInfo.InvariantCulture, $"[{Host}]:{Port}")
        : string.Create(CultureInfo.InvariantCulture, $"{Host}:{Port}");

    private static string Printable(string text)
        => string.Concat(text.Take(80).Select(c => char.IsControl(c) ? $"\\x{(int)c:X2}" : c.ToString()));
}
