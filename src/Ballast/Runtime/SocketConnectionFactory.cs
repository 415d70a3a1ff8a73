using System.Net;
using System.Net.Sockets;

namespace Ballast.Runtime;

/// <summary>The production transport: TCP with Nagle off, the first address of a host name.</summary>
internal sealed class SocketConnectionFactory : IConnectionFactory
{
    private SocketConnectionFactory()
    {
    }

    public static SocketConnectionFactory Instance { get; } = new();

    /// <returns>A <see cref="NetworkStream"/> that owns its socket.</returns>
    public async ValueTask<Stream> ConnectAsync(string host, int port, CancellationToken cancellationToken)
    {
        var addresses = IPAddress.TryParse(host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        if (addresses.Length == 0)
        {
            throw new SocketException((int)SocketError.NoData);
        }

        var socket = new Socket(addresses[0].AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new IPEndPoint(addresses[0], port), cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
