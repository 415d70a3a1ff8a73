using System.Net;
using System.Net.NetworkInformation;
using Microsoft.AspNetCore.Http;

namespace Ballast.Cli.Monitor;

/// <summary>
/// The Host headers the monitor answers to. A page on another site cannot read the monitor's answers, unless its name
/// is made to resolve to the monitor's address (DNS rebinding): the browser then sends that name as Host. So the
/// monitor serves only names it was told are its own: <c>localhost</c>, the loopback addresses 127.0.0.1 and ::1, the
/// <c>--listen</c> address (when that is every address, 0.0.0.0 or ::, each address of this host's interfaces), and
/// the names given with <c>--allow-host</c>. Any other Host gets 421 Misdirected Request.
/// </summary>
internal sealed class HostAllowList
{
    private readonly HashSet<string> _names;
    private readonly HashSet<IPAddress> _addresses;

    public HostAllowList(IPAddress listen, IEnumerable<string> extraNames)
    {
        ArgumentNullException.ThrowIfNull(listen);
        _names = new HashSet<string>(extraNames.Select(n => n.Trim().TrimEnd('.')), StringComparer.OrdinalIgnoreCase) { "localhost" };
        _addresses = [IPAddress.Loopback, IPAddress.IPv6Loopback, listen];
        if (listen.Equals(IPAddress.Any) || listen.Equals(IPAddress.IPv6Any))
        {
            foreach (var address in NetworkInterface.GetAllNetworkInterfaces().SelectMany(i => i.GetIPProperties().UnicastAddresses).Select(a => a.Address))
            {
                _addresses.Add(address);
            }
        }
    }

    /// <summary>True when a request naming <paramref name="host"/> may be served.</summary>
    public bool Allows(HostString host)
    {
        if (!host.HasValue)
        {
            return false;
        }

        var name = host.Host.Trim('[', ']');
        return IPAddress.TryParse(name, out var address)
            ? _addresses.Contains(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address)
            : _names.Contains(name.TrimEnd('.'));
    }

    /// <summary>The allowed names and addresses, for the refusal's message.</summary>
    public override string ToString()
        => string.Join(", ", _names.Order(StringComparer.Ordinal).Concat(_addresses.Where(a => !a.Equals(IPAddress.Any) && !a.Equals(IPAddress.IPv6Any)).Select(a => a.ToString())));
}
