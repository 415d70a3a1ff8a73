using System.Diagnostics;
using System.Globalization;
using System.Text;
using Ballast.FaultInjection;
using Ballast.Tests.Integrity;
using Ballast.Tests.Support;

namespace Ballast.Tests.Client;

/// <summary>
/// The batch calls are pipelined: every key's request is on the wire before the first answer is back. Through a link
/// that holds each direction for a second, the server receives all of a batch's requests within well under a second
/// of the first one, while a client that awaited each answer before the next request would send the second one only
/// two seconds after the first arrived. Measured on the server itself (its own counters), on one connection.
/// </summary>
[Collection(WallClockBoundCollection.Name)]
public sealed class BatchPipeliningTests
{
    private static readonly TimeSpan Latency = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task SetMany_and_DeleteMany_send_every_request_before_the_first_answer_arrives()
    {
        await using var servers = await MemcachedServers.StartAsync(1);
        await using var proxy = FaultProxy.Start(servers[0].Host, servers[0].Port);
        await using var client = new MemcachedClient(servers.Options(o =>
        {
            o.ConnectionsPerServer = 1;
            o.OperationTimeout = TimeSpan.FromSeconds(10);
            o.SharedView.Enabled = false;
            o.ConnectVia = _ => new ServerEndPoint(proxy.Host, proxy.Port);
        }));
        await using var direct = new MemcachedClient(servers.Options(o => o.SharedView.Enabled = false));
        Assert.True((await client.SetAsync("warm", "the connection is open")).IsStored);

        var keys = Enumerable.Range(0, 20).Select(i => string.Create(CultureInfo.InvariantCulture, $"pipelined-{i}")).ToArray();
        proxy.SetMode(ProxyFaultMode.Latency, Latency);

        var sets = await CountAsync(direct, "cmd_set");
        var setMany = client.SetManyAsync(keys.Select(k => KeyValuePair.Create(k, (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(k)))).AsTask();
        var spread = await ArrivalSpreadAsync(direct, ["cmd_set"], sets, keys.Length);
        Assert.True(spread < Latency * 0.8, $"the {keys.Length} sets reached the server over {spread.TotalMilliseconds:0} ms");
        Assert.All((await setMany).Values, s => Assert.True(s.Result.IsStored));

        var deletes = await CountAsync(direct, "delete_hits", "delete_misses");
        var deleteMany = client.DeleteManyAsync(keys).AsTask();
        spread = await ArrivalSpreadAsync(direct, ["delete_hits", "delete_misses"], deletes, keys.Length);
        Assert.True(spread < Latency * 0.8, $"the {keys.Length} deletes reached the server over {spread.TotalMilliseconds:0} ms");
        Assert.All((await deleteMany).Values, d => Assert.Equal(DeleteStatus.Deleted, d.Result));
    }

    /// <summary>How long after the first of <paramref name="expected"/> requests reached the server the last one did.</summary>
    private static async Task<TimeSpan> ArrivalSpreadAsync(MemcachedClient direct, string[] counters, long before, int expected)
    {
        var deadline = Stopwatch.StartNew();
        while (await CountAsync(direct, counters) == before)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(10), "no request reached the server");
            await Task.Delay(5);
        }

        var sinceFirst = Stopwatch.StartNew();
        while (await CountAsync(direct, counters) < before + expected)
        {
            Assert.True(sinceFirst.Elapsed < TimeSpan.FromSeconds(10), "not every request reached the server");
            await Task.Delay(5);
        }

        return sinceFirst.Elapsed;
    }

    private static async Task<long> CountAsync(MemcachedClient direct, params string[] counters)
    {
        var stats = (await direct.StatsAsync())[0].Values!;
        return counters.Sum(c => long.Parse(stats[c], CultureInfo.InvariantCulture));
    }
}
