using Ballast.Tests.Support;

namespace Ballast.Tests.Connections;

/// <summary>
/// The send window: requests are held back while the server has at least as many outstanding, and must leave once
/// answers come in. A request held back and never sent would hang until the operation timeout.
/// </summary>
public sealed class SendWindowTests
{
    [Fact]
    public async Task Requests_held_back_behind_a_slow_answer_leave_when_it_arrives_and_each_gets_its_own_answer()
    {
        // The first answer is 300 ms late, so everything issued meanwhile waits behind it, on the one connection.
        await using var server = new MisbehavingServer(request => request.Number == 1
            ? new MisbehavingServer.Reply(MisbehavingServer.Echo(request), Delay: TimeSpan.FromMilliseconds(300))
            : new MisbehavingServer.Reply(MisbehavingServer.Echo(request)));
        await using var client = new MemcachedClient(server.ClientOptions(TimeSpan.FromSeconds(5)));

        var first = client.GetStringAsync("slow").AsTask();
        var early = Enumerable.Range(0, 20).Select(i => client.GetStringAsync($"early{i}").AsTask()).ToList();
        await Task.Delay(100);
        var late = Enumerable.Range(0, 20).Select(i => client.GetStringAsync($"late{i}").AsTask()).ToList();

        var all = await Task.WhenAll([first, .. early, .. late]).WaitAsync(TimeSpan.FromSeconds(4));

        Assert.Equal("slow", all[0]);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"early{i}"), all[1..21]);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"late{i}"), all[21..]);
        Assert.Equal(1, server.ConnectionsAccepted);
    }

    [Fact]
    public async Task A_burst_far_larger_than_the_window_completes_against_real_memcached()
    {
        await using var servers = await MemcachedServers.StartAsync(1);
        await using var client = new MemcachedClient(servers.Options(o => o.ConnectionsPerServer = 1));
        for (var i = 0; i < 100; i++)
        {
            await client.SetAsync($"w{i}", $"v{i}");
        }

        // Waves of requests: each wave arrives while the previous one is still outstanding.
        var waves = new List<Task<string?[]>>();
        for (var wave = 0; wave < 20; wave++)
        {
            waves.Add(Task.WhenAll(Enumerable.Range(0, 500).Select(i => client.GetStringAsync($"w{i % 100}").AsTask())));
        }

        var results = await Task.WhenAll(waves).WaitAsync(TimeSpan.FromSeconds(20));

        foreach (var wave in results)
        {
            Assert.Equal(Enumerable.Range(0, 500).Select(i => $"v{i % 100}"), wave);
        }
    }
}
