using System.Text.Json.Nodes;
using Ballast.Tests.Integrity;

namespace Ballast.Tests.Php;

/// <summary>
/// A delete the PHP bridge could neither confirm nor fence (every link of PHP's cut: no witness for a fence) is owed,
/// as in the library: written to the bridge's journal and retried by every view read of a bridge that shares it, until
/// its server confirms it or is fenced. The PHP process that owed it ends with its request (php-fpm), so only the
/// journal file carries it to the next one. Before that next process runs, the .NET frontend still reads the old value
/// (the "no quorum" window of docs/integrity.md); after it, no frontend does. Real memcached behind blackholing
/// proxies (what they drop never lands), both PHP extensions.
/// </summary>
[Collection(WallClockBoundCollection.Name)]
public sealed class PhpOwedInvalidationTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(1);
    private readonly string _journal = Path.Combine(Path.GetTempPath(), $"ballast-php-journal-{Guid.NewGuid():N}");

    public static TheoryData<string, string> Extensions => PhpBridgeTests.Extensions;

    [Theory]
    [MemberData(nameof(Extensions))]
    public async Task A_delete_php_owes_is_sent_again_by_the_next_php_process_and_no_frontend_reads_the_old_value_after_it(string extension, string distribution)
    {
        await using var servers = await ProxiedServers.StartAsync(4);
        await using var dotnet = await PhpBridgeTests.StartDotNetAsync(servers, distribution);
        var (server, key) = await OweDeleteInProcessThatEndsAsync(servers, dotnet, extension, distribution, restoreServer: true);

        using var next = OpenWithJournal(servers, extension, distribution);
        Assert.Null(next.Get(key)); // its first view read sends the owed delete (and the server is unread until it lands)
        var counters = next.State(servers.Count)["counters"]!;
        Assert.True(counters["owed_confirmed"]!.GetValue<int>() == 1, $"the next PHP process did not land the owed delete: {counters.ToJsonString()}; stderr: {next.Errors}");
        Assert.Null(await PhpBridgeTests.ReadValueAsync(servers.Servers[server], key));
        Assert.Equal(0, counters["fences_published"]!.GetValue<int>()); // it landed: nothing was fenced, nothing will be flushed
        await AssertNoFrontendReadsTheOldValueAsync(dotnet, next, key, TimeSpan.FromSeconds(1.5));
        Assert.True(next.Set(key, "new"));
        Assert.Equal("new", (await dotnet.GetAsync(key)).AsString());
        Assert.DoesNotContain("\n+\t", File.ReadAllText(_journal), StringComparison.Ordinal); // settled: only the header is left
    }

    [Theory]
    [MemberData(nameof(Extensions))]
    public async Task A_delete_php_owes_on_a_server_it_still_cannot_reach_is_settled_by_a_fence_the_library_honors(string extension, string distribution)
    {
        await using var servers = await ProxiedServers.StartAsync(4);
        await using var dotnet = await PhpBridgeTests.StartDotNetAsync(servers, distribution);
        var (server, key) = await OweDeleteInProcessThatEndsAsync(servers, dotnet, extension, distribution, restoreServer: false);
        try
        {
            // The witnesses answer PHP again, the key's server does not: the next process's retry is not answered, so it
            // fences the server, and the .NET frontend (which still reaches the server, old value and all) stops reading it.
            using var next = OpenWithJournal(servers, extension, distribution);
            Assert.Null(next.Get(key));
            var counters = next.State(servers.Count)["counters"]!;
            Assert.True(counters["owed_fenced"]!.GetValue<int>() == 1, $"the next PHP process did not fence the server of the owed delete: {counters.ToJsonString()}; stderr: {next.Errors}");
            Assert.True(await IntegrityHarness.WaitUntilAsync(() => dotnet.GetServerState(servers.EndPoints[server]) == ServerState.Down, Bound), "the .NET frontend did not take PHP's fence within the bound");
            await AssertNoFrontendReadsTheOldValueAsync(dotnet, next, key, TimeSpan.FromSeconds(0.5));
            Assert.Equal("old", await PhpBridgeTests.ReadValueAsync(servers.Servers[server], key)); // the fence, not the delete, keeps it unread
            servers.Cut(server, php: false, dotnet: false);
            await PhpBridgeTests.AssertReadmittedAndFlushedAsync(dotnet, next, servers, server, key);
        }
        finally
        {
            servers.Cut(server, php: false, dotnet: false);
        }
    }

    public void Dispose()
    {
        foreach (var file in new[] { _journal, _journal + ".lock" })
        {
            File.Delete(file);
        }
    }

    /// <summary>
    /// A PHP process stores "old" on a server that holds no view record, loses every link (so its delete is neither
    /// confirmed nor fenced: it throws that the invalidation is owed) and ends. Its links come back (the key's server's
    /// only if <paramref name="restoreServer"/>); the old value is still there and the .NET frontend, which never lost
    /// anything, still reads it: the window this journal closes.
    /// </summary>
    private async Task<(int Server, string Key)> OweDeleteInProcessThatEndsAsync(ProxiedServers servers, MemcachedClient dotnet, string extension, string distribution, bool restoreServer)
    {
        var server = servers.NonWitness();
        using var php = OpenWithJournal(servers, extension, distribution);
        var key = PhpBridgeTests.KeyOn(php, server, "owed");
        Assert.True(php.Set(key, "old"));
        Assert.Equal("old", (await dotnet.GetAsync(key)).AsString());

        for (var s = 0; s < servers.Count; s++)
        {
            servers.Cut(s, php: true, dotnet: false);
        }

        try
        {
            var error = Assert.Throws<PhpException>(() => php.Delete(key));
            Assert.Contains("InvalidationOwedException", error.Message, StringComparison.Ordinal);
            Assert.Contains("owed", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            for (var s = 0; s < servers.Count; s++)
            {
                servers.Cut(s, php: s == server && !restoreServer, dotnet: false);
            }
        }

        php.Dispose(); // the request ends: this process retries nothing more
        Assert.Equal("old", await PhpBridgeTests.ReadValueAsync(servers.Servers[server], key));
        Assert.Equal("old", (await dotnet.GetAsync(key)).AsString());
        return (server, key);
    }

    private PhpFrontend OpenWithJournal(ProxiedServers servers, string extension, string distribution)
        => PhpFrontend.Open(extension, servers.List, distribution, extra: new JsonObject { ["journal_path"] = _journal });

    private static async Task AssertNoFrontendReadsTheOldValueAsync(MemcachedClient dotnet, PhpFrontend php, string key, TimeSpan during)
    {
        var until = DateTime.UtcNow + during;
        do
        {
            Assert.NotEqual("old", (await dotnet.GetAsync(key)).AsString());
            Assert.NotEqual("old", php.Get(key));
            await Task.Delay(20);
        }
        while (DateTime.UtcNow < until);
    }
}
