using Ballast.FaultInjection;
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
        await using var server = MisbehavingServer.FirstThenEcho(request =>
            new MisbehavingServer.Reply(MisbehavingServer.Echo(request), Delay: TimeSpan.FromMilliseconds(300)));
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

    [Fact]
    public async Task A_request_held_behind_a_batch_on_a_slow_link_is_not_timed_out_while_the_server_answers_in_time()
    {
        // 500 ms each way: every request is answered ~1 s after it is sent, within the 2.2 s timeout (1.2 s to spare
        // for a loaded machine: the proxy runs in this process, and 0.6 s of spare was seen to run out). A request
        // issued just after a batch of 100 left is held back; its timeout counts from when it is sent, so the hold
        // does not eat into it and nothing times out or poisons the connection.
        await using var link = await SlowLink.StartAsync(TimeSpan.FromMilliseconds(2200));
        var client = link.Client;
        link.Proxy.SetMode(ProxyFaultMode.Latency, TimeSpan.FromMilliseconds(500));

        for (var round = 0; round < 2; round++)
        {
            var batch = Enumerable.Range(0, 100).Select(_ => client.GetFromHomeServerAsync("held").AsTask()).ToList();
            await Task.Delay(20);
            var lone = await client.GetFromHomeServerAsync("held");
            var answers = await Task.WhenAll(batch);

            Assert.Equal("value", lone.AsString());
            Assert.All(answers, answer => Assert.Equal("value", answer.AsString()));
        }
    }

    [Fact]
    public async Task A_request_is_never_held_back_longer_than_a_quarter_of_the_operation_timeout()
    {
        // 3 s each way, timeout 9 s: the batch's answers come back ~6 s after it left. A request issued 300 ms later
        // is held back, but only for 2.25 s (+ one timer period): it is answered ~8.4 s after being issued, where
        // waiting for the batch's answers makes it ~11.7 s. The 10 s line leaves over 1.5 s either side (with 2 s each
        // way and a 6.3 s line, measured 4.1-5.5 s and 7.0 s, under a second either side was seen to run out).
        await using var link = await SlowLink.StartAsync(TimeSpan.FromSeconds(9));
        var client = link.Client;
        link.Proxy.SetMode(ProxyFaultMode.Latency, TimeSpan.FromSeconds(3));

        var batch = Enumerable.Range(0, 100).Select(_ => client.GetFromHomeServerAsync("held").AsTask()).ToList();
        await Task.Delay(300);
        var issued = System.Diagnostics.Stopwatch.StartNew();
        var lone = await client.GetFromHomeServerAsync("held");
        var waited = issued.Elapsed;
        await Task.WhenAll(batch);

        Assert.Equal("value", lone.AsString());
        Assert.True(waited < TimeSpan.FromSeconds(10), $"the request took {waited.TotalMilliseconds:0} ms: it was held back until the batch's answers came in");
    }

    /// <summary>One memcached behind a fault proxy, and a one-connection client that reaches it through the proxy, with
    /// the key "held" stored.</summary>
    private sealed class SlowLink : IAsyncDisposable
    {
        private MemcachedServers _servers = null!;

        public FaultProxy Proxy { get; private set; } = null!;

        public MemcachedClient Client { get; private set; } = null!;

        public static async Task<SlowLink> StartAsync(TimeSpan operationTimeout)
        {
            var link = new SlowLink { _servers = await MemcachedServers.StartAsync(1) };
            link.Proxy = FaultProxy.Start(link._servers[0].Host, link._servers[0].Port);
            link.Client = new MemcachedClient(link._servers.Options(o =>
            {
                o.ConnectionsPerServer = 1;
                o.OperationTimeout = operationTimeout;
                o.SharedView.Enabled = false;
                o.ConnectVia = _ => new ServerEndPoint(link.Proxy.Host, link.Proxy.Port);
            }));
            await link.Client.SetAsync("held", "value");
            return link;
        }

        public async ValueTask DisposeAsync()
        {
            await Client.DisposeAsync();
            await Proxy.DisposeAsync();
            await _servers.DisposeAsync();
        }
    }
}
