using Ballast.Runtime;

namespace Ballast.Simulation.Network;

/// <summary>
/// One frontend's <see cref="IConnectionFactory"/>: a server's host name (<c>s0</c>, <c>s1</c>, ... and <c>g0</c>... for
/// gutter servers) names a simulated process, and the connection goes over this frontend's link to it.
/// </summary>
internal sealed class SimulatedTransport(SimulatedNetwork network, int frontend, Func<string, int> serverIndex) : IConnectionFactory
{
    public async ValueTask<Stream> ConnectAsync(string host, int port, CancellationToken cancellationToken)
        => await network.ConnectAsync(frontend, serverIndex(host), cancellationToken).ConfigureAwait(false);
}
