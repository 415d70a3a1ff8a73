using System.Text;

namespace Ballast.Tests.Integrity;

/// <summary>The retry journal on disk: owed invalidations survive a restart and are settled before the server is read.</summary>
public sealed class InvalidationJournalTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"ballast-journal-{Guid.NewGuid():N}.txt");

    [Fact]
    public async Task A_fenced_delete_is_journaled_on_disk_and_settled_by_the_failback_flush()
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, frontendCount: 1, configure: o => o.Invalidation.JournalPath = _path);
        var key = harness.KeyOn(0, "journal");
        Assert.Equal(1, await harness.ReadAsync(0, key));

        harness.CutAll(0);
        Assert.Equal(DeleteStatus.ServerFenced, await harness.Frontends[0].DeleteAsync(key));
        Assert.Contains(Convert.ToBase64String(Encoding.UTF8.GetBytes(key)), await File.ReadAllTextAsync(_path), StringComparison.Ordinal);

        harness.HealAll(0);
        Assert.True(await harness.WaitForStateAsync(0, ServerState.Up, TimeSpan.FromSeconds(10)));
        Assert.True(await IntegrityHarness.WaitUntilAsync(() => File.ReadAllLines(_path).All(l => l.StartsWith("#ballast-journal", StringComparison.Ordinal)), TimeSpan.FromSeconds(5)), "the flush did not settle the journal");
    }

    [Fact]
    public async Task A_restarted_frontend_with_owed_invalidations_fences_the_server_before_reading_it()
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, frontendCount: 1);
        var key = harness.KeyOn(0, "owed");
        await harness.Frontends[0].SetAsync(key, "stale");
        var flushes = await harness.FlushCountAsync(0);

        // The journal an earlier run left: the delete of this key on server 0 was never confirmed, while the server's
        // record had the epoch it still has (a journal entry carries the epoch of the record when the delete failed;
        // only a flush since, which moves the epoch on, settles it).
        var epoch = harness.Frontends[0].ViewEpochOf(harness.EndPoint(0));
        await File.WriteAllTextAsync(_path, $"1\t{harness.EndPoint(0)}\t{Convert.ToBase64String(Encoding.UTF8.GetBytes(key))}\t{epoch}\n");
        var options = new MemcachedClientOptions { OperationTimeout = TimeSpan.FromMilliseconds(300) };
        foreach (var s in Enumerable.Range(0, 3))
        {
            options.Servers.Add(harness.EndPoint(s));
        }

        options.Invalidation.JournalPath = _path;
        options.Failback.MinimumDownTime = TimeSpan.FromMilliseconds(200);
        options.FailureDetection.ProbeInterval = TimeSpan.FromMilliseconds(50);
        await using var restarted = new MemcachedClient(options);

        var sawStale = false;
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (DateTime.UtcNow < deadline && restarted.GetServerState(harness.EndPoint(0)) != ServerState.Up)
        {
            sawStale |= (await restarted.GetAsync(key)).AsString() == "stale";
            await Task.Delay(20);
        }

        Assert.False(sawStale);
        Assert.Equal(ServerState.Up, restarted.GetServerState(harness.EndPoint(0)));
        Assert.False((await restarted.GetAsync(key)).IsHit);
        Assert.Equal(flushes + 1, await harness.FlushCountAsync(0));
        Assert.True(await IntegrityHarness.WaitUntilAsync(() => File.ReadAllLines(_path).All(l => l.StartsWith("#ballast-journal", StringComparison.Ordinal)), TimeSpan.FromSeconds(5)));
    }

    public void Dispose()
    {
        File.Delete(_path);
        File.Delete(_path + ".tmp");
        File.Delete(_path + ".lock");
    }
}
