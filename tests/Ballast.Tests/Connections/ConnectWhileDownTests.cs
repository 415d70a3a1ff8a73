using System.Net.Sockets;
using Ballast.Runtime;
using Ballast.Tests.Support;

namespace Ballast.Tests.Connections;

/// <summary>
/// A request dispatched to a server that has no open connection waits for one to be opened. If the server is marked
/// down meanwhile (a connect can wait out a whole partition, and in that time other frontends fence the server, flush
/// it and readmit it), the request must not be sent when the connection finally opens: an increment would count across
/// that flush on a frontend that never saw the readmission, and a set would land a value computed before the outage
/// (simulator seed offline 7002594). Against a real memcached, with the connect held at the transport seam.
/// </summary>
public sealed class ConnectWhileDownTests
{
    [Fact]
    public async Task A_request_whose_connection_opened_after_its_server_was_marked_down_is_not_sent()
    {
        await using var servers = await MemcachedServers.StartAsync(1);
        var transport = new GatedTransport();
        var options = servers.Options(o =>
        {
            o.SharedView.Enabled = false;
            o.ConnectionsPerServer = 2;
        });
        options.Runtime = new ClientRuntime { Transport = transport };
        await using var client = new MemcachedClient(options);

        // The increment takes one connection slot, whose connect is held.
        transport.HoldNext();
        var increment = client.IncrementAsync("counter", 1, initial: 1).AsTask();
        await transport.HeldAsync.WaitAsync(TimeSpan.FromSeconds(5));

        // A request on the other slot is refused: the server is marked down while the increment waits.
        transport.RefuseNext();
        var read = await client.GetAsync("anything");
        Assert.False(read.IsHit);

        transport.Release();
        var error = await Assert.ThrowsAsync<ServerUnavailableException>(() => increment);
        Assert.Contains(servers.EndPoints.First().ToString(), error.Message, StringComparison.Ordinal);
        Assert.Contains("marked down while a connection", error.Message, StringComparison.Ordinal);
        Assert.Contains("'counter'", error.Message, StringComparison.Ordinal);

        // Nothing reached the server: the counter was never created.
        await using var plain = new MemcachedClient(servers.Options(o => o.SharedView.Enabled = false));
        Assert.Null(await plain.GetStringAsync("counter"));
    }

    /// <summary>Opens real sockets, except that the next connect can be held until released, or refused.</summary>
    private sealed class GatedTransport : IConnectionFactory
    {
        private const int Pass = 0;
        private const int Hold = 1;
        private const int Refuse = 2;
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _next;

        /// <summary>Completes once a held connect is waiting.</summary>
        public Task HeldAsync => _held.Task;

        public void HoldNext() => Volatile.Write(ref _next, Hold);

        public void RefuseNext() => Volatile.Write(ref _next, Refuse);

        public void Release() => _gate.TrySetResult();

        public async ValueTask<Stream> ConnectAsync(string host, int port, CancellationToken cancellationToken)
        {
            switch (Interlocked.Exchange(ref _next, Pass))
            {
                case Hold:
                    _held.TrySetResult();
                    await _gate.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                    break;
                case Refuse:
                    throw new SocketException((int)SocketError.ConnectionRefused);
            }

            return await SocketConnectionFactory.Instance.ConnectAsync(host, port, cancellationToken).ConfigureAwait(false);
        }
    }
}
