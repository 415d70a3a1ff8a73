using Ballast.FaultInjection;

namespace Ballast.Tests.Support;

/// <summary>
/// Real memcached processes on free loopback ports for one test, always stopped at disposal (even when the test
/// fails), with helpers to build client options over them.
/// </summary>
public sealed class MemcachedServers : IAsyncDisposable
{
    private MemcachedServers(IReadOnlyList<MemcachedProcess> processes) => Processes = processes;

    public IReadOnlyList<MemcachedProcess> Processes { get; }

    public MemcachedProcess this[int index] => Processes[index];

    public IEnumerable<ServerEndPoint> EndPoints => Processes.Select(p => new ServerEndPoint(p.Host, p.Port));

    public static async Task<MemcachedServers> StartAsync(int count, int threads = 2)
    {
        var processes = new List<MemcachedProcess>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                processes.Add(await MemcachedProcess.StartAsync(new MemcachedProcessOptions { Threads = threads }));
            }
        }
        catch
        {
            foreach (var process in processes)
            {
                await process.DisposeAsync();
            }

            throw;
        }

        return new MemcachedServers(processes);
    }

    /// <summary>
    /// Options over these servers. The timeouts are generous: these tests exercise healthy servers, and a loaded test
    /// machine must not turn a slow answer into a miss (tests of timeouts use their own fixtures).
    /// </summary>
    public MemcachedClientOptions Options(Action<MemcachedClientOptions>? configure = null)
    {
        var options = new MemcachedClientOptions { OperationTimeout = TimeSpan.FromSeconds(3), ConnectTimeout = TimeSpan.FromSeconds(3) };

        // The same holds for the shared view's lease: its reads share the connections with the test's load, and a
        // burst of thousands of pipelined requests could hold them back past a 1 s lease, after which every read
        // misses and every counter is refused ("down or fenced"). Tests of the lease use the integrity harness.
        options.SharedView.Bound = TimeSpan.FromSeconds(30);
        foreach (var endPoint in EndPoints)
        {
            options.Servers.Add(endPoint);
        }

        configure?.Invoke(options);
        return options;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in Processes)
        {
            await process.DisposeAsync();
        }
    }
}
