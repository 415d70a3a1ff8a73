using Ballast.Tests.FaultInjection;
using Ballast.Tests.Support;

namespace Ballast.Tests.Connections;

/// <summary>
/// The largest value a server may announce is the configured MaxItemSize, not a constant: a client configured for
/// small items refuses a larger one before reading it, and says which limit it hit.
/// </summary>
public sealed class ValueLengthBoundTests
{
    [Fact]
    public async Task A_value_larger_than_the_configured_item_size_is_refused_naming_the_limit()
    {
        await using var servers = await MemcachedServers.StartAsync(1);
        using (var raw = await TextClient.ConnectAsync(servers[0].Host, servers[0].Port))
        {
            Assert.Equal("STORED", await raw.RequestAsync($"set big 0 0 100000\r\n{new string('x', 100_000)}\r\n"));
        }

        // No shared view: a client starting on a new pool would flush the server before reading it.
        await using var client = new MemcachedClient(servers.Options(o =>
        {
            o.MaxItemSize = 64 * 1024;
            o.SharedView.Enabled = false;
        }));
        var error = await Assert.ThrowsAsync<MemcachedProtocolException>(async () => await client.GetFromHomeServerAsync("big"));
        Assert.Contains("100000", error.Message, StringComparison.Ordinal);
        Assert.Contains("65536", error.Message, StringComparison.Ordinal);
        Assert.Contains("MaxItemSize", error.Message, StringComparison.Ordinal);

        // The connection was closed and replaced: the next request gets its own answer.
        Assert.True((await client.SetAsync("small", "v")).IsStored);
        Assert.Equal("v", await client.GetStringAsync("small"));
    }
}
