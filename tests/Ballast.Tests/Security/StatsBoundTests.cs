using System.Text;
using Ballast.Tests.Support;

namespace Ballast.Tests.Security;

/// <summary>
/// A hostile server's <c>stats</c> answer is bounded in bytes and in lines: past either bound the answer is refused
/// with an error that names the server and the bound, within bounded memory (the monitor asks every second). The
/// memory is the process's allocation count, so the test runs alone (a fresh-clone CI run counted a neighbour's 37
/// and 217 MB against it).
/// </summary>
[Collection(nameof(AllocationMeasuringCollection))]
public sealed class StatsBoundTests
{
    [Theory]
    [InlineData(5_000, 8_100)]   // 40 MB of long STAT lines: below the old 20,000-line cap, far above any real answer
    [InlineData(19_990, 20)]     // short lines just below the old cap
    public async Task A_stats_answer_past_the_bound_is_refused_with_the_bound_in_bounded_memory(int lines, int lineLength)
    {
        var answer = BuildAnswer(lines, lineLength);
        await using var server = new MisbehavingServer(request => new MisbehavingServer.Reply(request.Command == "stats" ? answer : MisbehavingServer.Echo(request)));
        await using var client = new MemcachedClient(server.ClientOptions(TimeSpan.FromSeconds(10)));

        var before = GC.GetTotalAllocatedBytes(precise: true);
        var stats = Assert.Single(await client.StatsAsync());
        // The in-process server's own encoding of its answer (one byte per character) is not the client's.
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before - answer.Length;

        Assert.True(stats.Values is null, $"an answer of {lines} lines of {lineLength} bytes was accepted ({stats.Values?.Count} statistics, {allocated / 1e6:0.0} MB allocated)");
        Assert.Contains(server.EndPoint.ToString(), stats.Error, StringComparison.Ordinal);
        Assert.Matches("more than [0-9,]+ (bytes|STAT lines)", stats.Error);
        Assert.True(allocated < 16_000_000, $"{allocated / 1e6:0.0} MB allocated by the client refusing it");
    }

    [Fact]
    public async Task A_real_servers_stats_fit_the_bound()
    {
        await using var servers = await MemcachedServers.StartAsync(1);
        await using var client = new MemcachedClient(servers.Options());
        var stats = Assert.Single(await client.StatsAsync());
        Assert.True(stats.Values is { Count: > 50 }, stats.Error);
    }

    private static string BuildAnswer(int lines, int lineLength)
    {
        var builder = new StringBuilder(lines * (lineLength + 20));
        var filler = new string('x', Math.Max(1, lineLength - 20));
        for (var i = 0; i < lines; i++)
        {
            builder.Append("STAT s").Append(i).Append(' ').Append(filler).Append("\r\n");
        }

        return builder.Append("END\r\n").ToString();
    }
}
