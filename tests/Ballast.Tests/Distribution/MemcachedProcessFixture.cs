using System.Globalization;
using Ballast.FaultInjection;

namespace Ballast.Tests.Distribution;

/// <summary>
/// Eight real <c>memcached</c> servers (<see cref="MemcachedProcess"/>) on distinct loopback addresses (127.0.0.2 to
/// 127.0.0.9), half of them on port 11211 where that port is free, so that libmemcached's ketama point names are
/// exercised in both forms (<c>host-i</c> for 11211, <c>host:port-i</c> otherwise). Linux routes all of 127.0.0.0/8 to
/// the loopback interface. Every server is stopped in <see cref="DisposeAsync"/>, whatever the tests did.
/// </summary>
public sealed class MemcachedProcessFixture : IAsyncLifetime
{
    private readonly List<MemcachedProcess> _processes = [];

    /// <summary>The running servers, weight 1 (scenarios choose their own weights).</summary>
    public List<ServerEndPoint> Servers { get; } = [];

    /// <summary>Starts the servers; throws (failing the tests) if one does not start.</summary>
    public async Task InitializeAsync()
    {
        try
        {
            for (var i = 0; i < 8; i++)
            {
                var address = string.Create(CultureInfo.InvariantCulture, $"127.0.0.{i + 2}");
                var process = await StartOneAsync(address, preferDefaultPort: i % 2 == 0);
                _processes.Add(process);
                Servers.Add(new ServerEndPoint(process.Host, process.Port));
            }
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        foreach (var process in _processes)
        {
            await process.DisposeAsync();
        }

        _processes.Clear();
    }

    private static async Task<MemcachedProcess> StartOneAsync(string address, bool preferDefaultPort)
    {
        var options = new MemcachedProcessOptions { BindAddress = address, Threads = 1 };
        if (preferDefaultPort)
        {
            try
            {
                return await MemcachedProcess.StartAsync(options with { Port = ServerEndPoint.DefaultPort });
            }
            catch (InvalidOperationException)
            {
                // 11211 is taken on this address: fall back to a free port.
            }
        }

        return await MemcachedProcess.StartAsync(options); // Port 0: a free port, retried on a collision.
    }
}
