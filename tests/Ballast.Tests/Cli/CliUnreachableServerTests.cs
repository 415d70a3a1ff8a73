using Ballast.Cli;
using Ballast.Tests.Support;

namespace Ballast.Tests.Cli;

/// <summary>
/// A server nobody listens on must never look like a miss or a success: the client turns it into misses by design,
/// and the CLI must see through that.
/// </summary>
public sealed class CliUnreachableServerTests
{
    private static readonly string Dead = $"127.0.0.1:{CliHarness.UnusedPort()}";

    [Theory]
    [InlineData("get", "k")]
    [InlineData("set", "k", "v")]
    [InlineData("delete", "k")]
    [InlineData("stats")]
    public async Task Each_command_against_an_unreachable_server_exits_3_with_one_line(params string[] args)
    {
        var run = await CliHarness.RunAsync([.. args, "--servers", Dead, "--timeout", "300"]);

        CliHarness.AssertOneLineError(run, ExitCodes.ServerError);
        Assert.DoesNotContain("miss:", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_of_a_key_whose_server_is_down_exits_3_though_the_rest_of_the_pool_is_up()
    {
        await using var servers = await MemcachedServers.StartAsync(2);
        var pool = $"{servers[0].EndPoint},{servers[1].EndPoint},{Dead}";
        await using var client = new MemcachedClient(MemcachedClientOptions.ForServers(pool));
        var onDead = Enumerable.Range(0, 100).Select(i => $"key{i}").First(k => client.Locate(k).ToString() == Dead);
        var onLive = Enumerable.Range(0, 100).Select(i => $"key{i}").First(k => client.Locate(k).ToString() != Dead);

        var dead = await CliHarness.RunAsync("get", onDead, "--servers", pool, "--timeout", "3000");
        var live = await CliHarness.RunAsync("get", onLive, "--servers", pool, "--timeout", "3000");

        CliHarness.AssertOneLineError(dead, ExitCodes.ServerError, Dead);
        Assert.True(live.ExitCode == ExitCodes.NotFound, $"exit {live.ExitCode}: {live.Error}");
        Assert.Equal([$"miss: {onLive}"], live.ErrorLines);
    }
}
