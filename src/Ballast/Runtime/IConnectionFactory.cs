namespace Ballast.Runtime;

/// <summary>
/// The transport seam: opens a byte stream to a server. Production opens a TCP socket
/// (<see cref="SocketConnectionFactory"/>); the simulator hands out in-memory pipes to simulated servers.
/// </summary>
internal interface IConnectionFactory
{
    /// <summary>
    /// Opens a duplex stream to <paramref name="host"/>:<paramref name="port"/>. TLS and the login happen over it
    /// afterwards. Refusals and resets are <see cref="System.Net.Sockets.SocketException"/>s; a host that resolves to no
    /// address is one with <see cref="System.Net.Sockets.SocketError.NoData"/>.
    /// </summary>
    ValueTask<Stream> ConnectAsync(string host, int port, CancellationToken cancellationToken);
}
