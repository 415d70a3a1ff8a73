using Ballast.Invalidation;
using Ballast.Tests.Integrity;

namespace Ballast.Tests.Client;

/// <summary>
/// What a client owns once it is built: its own copy of the options, events raised off the caller's thread, and a
/// journal that is an append-only log.
/// </summary>
public sealed class ClientLifecycleTests : IDisposable
{
    private readonly string _journal = Path.Combine(Path.GetTempPath(), $"ballast-journal-{Guid.NewGuid():N}.log");

    [Fact]
    public async Task Edits_to_the_options_after_the_client_is_built_have_no_effect()
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, frontendCount: 1);
        var options = new MemcachedClientOptions();
        options.Servers.Add(harness.EndPoint(0));
        options.Servers.Add(harness.EndPoint(1));
        await using var client = new MemcachedClient(options);
        var placement = client.Locate("some-key");

        options.Servers.Clear();
        options.Servers.Add(new ServerEndPoint("127.0.0.1", 1));
        options.FailoverPolicy = FailoverPolicy.Rehash;
        options.SharedView.Bound = TimeSpan.FromMinutes(1);

        Assert.Equal(2, client.Servers.Count);
        Assert.Equal(placement, client.Locate("some-key"));
        Assert.Equal(FailoverPolicy.Offline, client.Policy);
        Assert.True((await client.SetAsync("some-key", "v")).IsStored);
        Assert.Equal("v", await client.GetStringAsync("some-key"));
    }

    [Fact]
    public async Task A_subscriber_that_blocks_does_not_hold_up_the_caller_whose_request_failed()
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, frontendCount: 1);
        var client = harness.Frontends[0];
        var key = harness.KeyOn(0, "events");
        using var release = new ManualResetEventSlim();
        var callerThread = -1;
        var raisedOn = new List<int>();
        client.ServerFailed += (_, _) =>
        {
            lock (raisedOn)
            {
                raisedOn.Add(Environment.CurrentManagedThreadId);
            }

            release.Wait(TimeSpan.FromSeconds(30));
        };

        harness.Server(0).Kill();
        var delete = Task.Run(async () =>
        {
            callerThread = Environment.CurrentManagedThreadId;
            return await client.DeleteAsync(key);
        });

        // The delete fences the server and returns while the subscriber is still blocked in its handler.
        Assert.Equal(DeleteStatus.ServerFenced, await delete.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.False(release.IsSet);
        release.Set();
        Assert.True(await IntegrityHarness.WaitUntilAsync(() => { lock (raisedOn) { return raisedOn.Count > 0; } }, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void The_journal_appends_one_line_per_change_and_a_reload_replays_it()
    {
        using (var journal = new InvalidationJournal(_journal, "pool", Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance))
        {
            var first = journal.Add("127.0.0.1:1", "k1", 3);
            journal.Add("127.0.0.1:1", "k2", 3);
            journal.Add("127.0.0.1:2", "k3", 4);
            journal.Remove(first);
        }

        var lines = File.ReadAllLines(_journal);
        Assert.Equal(3, lines.Count(l => l.StartsWith("+\t", StringComparison.Ordinal)));
        Assert.Single(lines, l => l.StartsWith("-\t", StringComparison.Ordinal));

        // A torn last line (a crash mid-append) is skipped; what was whole is replayed.
        File.AppendAllText(_journal, "+\t9\t127.0.0.1:2\tazM");
        using var reloaded = new InvalidationJournal(_journal, "pool", Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        Assert.Equal(["k2", "k3"], reloaded.Snapshot().Select(p => p.Key).Order());
        Assert.True(reloaded.HasPendingFor("127.0.0.1:2"));

        // Settled entries leave the header alone.
        reloaded.Supersede("127.0.0.1:1", 10);
        reloaded.Supersede("127.0.0.1:2", 10);
        Assert.Equal(["#ballast-journal\t2\tpool"], File.ReadAllLines(_journal));
    }

    public void Dispose()
    {
        File.Delete(_journal);
        File.Delete(_journal + ".tmp");
        File.Delete(_journal + ".lock");
    }
}
