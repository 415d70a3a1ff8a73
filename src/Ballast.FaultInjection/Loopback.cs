using System.Net;

namespace Ballast.FaultInjection;

/// <summary>Parses addresses and refuses anything that is not loopback: this kit only ever talks to the local machine.</summary>
internal static class Loopback
{
    /// <summary>Parses an IP address or <c>localhost</c>, throwing when it is not a loopback address.</summary>
    internal static IPAddress Parse(string address, string parameterName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(address, parameterName);
        var text = address.Trim();
        if (string.Equals(text, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return IPAddress.Loopback;
        }

        if (!IPAddress.TryParse(text, out var ip) || !IPAddress.IsLoopback(ip))
        {
            throw new ArgumentException(
                $"Address '{address}' is not a loopback address; the fault-injection kit only runs servers and proxies on 127.0.0.0/8 or ::1.",
                parameterName);
        }

        return ip;
    }

    /// <summary>Formats host and port as <c>host:port</c>, bracketing IPv6 hosts.</summary>
    internal static string FormatEndPoint(string host, int port) =>
        host.Contains(':', StringComparison.Ordinal) ? $"[{host}]:{port}" : $"{host}:{port}";
}
