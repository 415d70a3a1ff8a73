using Ballast.Tests.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Ballast.Tests.Security;

/// <summary>
/// The invalidation journal's file (<see cref="InvalidationOptions.JournalPath"/>) holds keys and server addresses and
/// decides which servers a restarted process fences: it is its owner's alone (0600), its rewrite follows no symlink, one
/// process holds it at a time, it names its pool (a journal of another pool is refused), and a line it cannot read is
/// logged, not silently dropped.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class JournalFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("ballast-journal-").FullName;

    private string JournalPath => Path.Combine(_directory, "journal");

    [Fact]
    public async Task The_journal_is_created_readable_and_writable_by_its_owner_only_and_an_older_one_is_tightened()
    {
        await using (Client("shop"))
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(JournalPath));
        }

        File.SetUnixFileMode(JournalPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        await using (Client("shop"))
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(JournalPath));
        }
    }

    [Fact]
    public async Task A_symlink_where_the_temporary_file_goes_is_not_followed()
    {
        var victim = Path.Combine(_directory, "victim");
        await File.WriteAllTextAsync(victim, "precious");
        File.CreateSymbolicLink(JournalPath + ".tmp", victim);

        await using (Client("shop"))
        {
        }

        Assert.Equal("precious", await File.ReadAllTextAsync(victim));
    }

    [Fact]
    public async Task A_second_client_on_the_same_journal_gets_a_clear_error_and_the_first_keeps_it()
    {
        await using var first = Client("shop");
        var error = Record.Exception(() => Client("shop"));

        Assert.NotNull(error);
        Assert.IsType<InvalidOperationException>(error);
        Assert.Contains(JournalPath, error.Message, StringComparison.Ordinal);
        Assert.Contains("in use", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, first.PendingInvalidationCount);
    }

    [Fact]
    public async Task A_journal_names_its_pool_and_a_journal_of_another_pool_is_refused_with_both_names()
    {
        await using (Client("pool-b"))
        {
        }

        var header = (await File.ReadAllLinesAsync(JournalPath))[0];
        Assert.Contains("pool-b", header, StringComparison.Ordinal);

        // Pool b's journal, owing a delete on a server pool a has too: pool a must not fence (and flush) it on b's word.
        await File.AppendAllTextAsync(JournalPath, $"+\t1\t127.0.0.1:1\t{Convert.ToBase64String("k"u8)}\t1\n");
        var error = Record.Exception(() => Client("pool-a"));

        Assert.IsType<InvalidOperationException>(error);
        Assert.Contains("'pool-b'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'pool-a'", error.Message, StringComparison.Ordinal);
        Assert.Contains(JournalPath, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_line_the_journal_cannot_read_is_logged_with_its_number_and_the_rest_is_kept()
    {
        await using (Client("shop"))
        {
        }

        await File.AppendAllTextAsync(JournalPath, "garbage that is no entry\n" + $"+\t7\t127.0.0.1:1\t{Convert.ToBase64String("owed"u8)}\t1\n");
        var logs = new CapturingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        await using var client = Client("shop", factory);

        Assert.Equal(1, client.PendingInvalidationCount);
        var warning = Assert.Single(logs.Events, e => e.Message.Contains("line 2", StringComparison.Ordinal) && e.Level >= LogLevel.Warning);
        Assert.Contains("journal", warning.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(JournalPath, warning.Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>A client of one unreachable server (nothing is sent: no view, no traffic) that keeps its journal at <see cref="JournalPath"/>.</summary>
    private MemcachedClient Client(string pool, ILoggerFactory? logging = null)
    {
        var options = new MemcachedClientOptions { LoggerFactory = logging };
        options.Servers.Add(new ServerEndPoint("127.0.0.1", 1));
        options.SharedView.PoolName = pool;
        options.SharedView.Enabled = false;
        options.Invalidation.JournalPath = JournalPath;
        return new MemcachedClient(options);
    }
}
