using Ballast.Tests.Integrity;
using Microsoft.Extensions.Logging;

namespace Ballast.Tests.Diagnostics;

/// <summary>
/// A failure is logged once. An invalidation the caller waited for ends with its error in the caller's hands, and is
/// not reported again as "background work nobody awaited"; one whose caller left (cancelled) is reported, since
/// nobody else sees it.
/// </summary>
public sealed class AwaitedFailureLogTests
{
    private const int BackgroundWorkFailed = 18;

    [Fact]
    public async Task A_failed_delete_whose_caller_waited_is_not_logged_again_as_background_work()
    {
        var logs = new CapturingLoggerProvider();
        await using var harness = await StartWithoutQuorumAsync(logs);
        var client = harness.Frontends[0];
        var key = harness.KeyOn(0, "awaited");

        // A token that can fire but does not: the path an ASP.NET request takes.
        using var request = new CancellationTokenSource();
        var error = await Assert.ThrowsAsync<InvalidationOwedException>(() => client.DeleteAsync(key, request.Token).AsTask());
        Assert.Contains(key, error.Message, StringComparison.Ordinal);

        // A report would follow the failure at once, on the thread that failed the work; give it time all the same.
        await Task.Delay(300);
        Assert.DoesNotContain(logs.Events, e => e.Id.Id == BackgroundWorkFailed && e.Message.Contains(key, StringComparison.Ordinal));
        Assert.Equal(0, client.BackgroundFailures);
    }

    [Fact]
    public async Task A_failed_delete_whose_caller_left_is_logged_as_background_work()
    {
        var logs = new CapturingLoggerProvider();
        await using var harness = await StartWithoutQuorumAsync(logs);
        var client = harness.Frontends[0];
        var key = harness.KeyOn(0, "left");

        using var request = new CancellationTokenSource();
        await request.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.DeleteAsync(key, request.Token).AsTask());

        Assert.True(await IntegrityHarness.WaitUntilAsync(
            () => logs.Events.Any(e => e.Id.Id == BackgroundWorkFailed && e.Message.Contains(key, StringComparison.Ordinal) && e.Error is ServerUnavailableException),
            TimeSpan.FromSeconds(10)));
        Assert.Equal(1, logs.Events.Count(e => e.Id.Id == BackgroundWorkFailed && e.Message.Contains(key, StringComparison.Ordinal)));
    }

    /// <summary>Three servers, two of them killed: a delete on their keys can be neither confirmed nor fenced.</summary>
    private static async Task<IntegrityHarness> StartWithoutQuorumAsync(CapturingLoggerProvider logs)
    {
        var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, frontendCount: 1, configure: o => o.LoggerFactory = LoggerFactory.Create(b => b.AddProvider(logs)));
        harness.Server(0).Kill();
        harness.Server(1).Kill();
        return harness;
    }
}
