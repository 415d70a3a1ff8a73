using Ballast.GetOrCreate;

namespace Ballast.Tests.Client;

/// <summary>The in-process half of GetOrCreate's stampede protection: one run per key, cancelled only when every caller has left.</summary>
public sealed class SingleFlightTests
{
    /// <summary>
    /// The wait and the registration that leaves the run fire on the same token; the wait's continuation could run
    /// inside Cancel and dispose the registration first, and the run went on for a caller that was gone (holding its
    /// refill lease). Repeated, because it is a race: without the fix about half the runs of the GetOrCreate test lost it.
    /// </summary>
    [Fact]
    public async Task A_lone_caller_that_cancels_always_cancels_the_run()
    {
        var flights = new SingleFlight();
        for (var i = 0; i < 200; i++)
        {
            var runCancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using var caller = new CancellationTokenSource();
            var call = flights.RunAsync<int>($"k{i}", async token =>
            {
                started.TrySetResult();
                try
                {
                    await Task.Delay(Timeout.Infinite, token);
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    // Seen here, not through a registration of its own: that would race with the delay's, as the
                    // run's did (the delay's continuation can dispose it before it fires).
                    runCancelled.TrySetResult();
                    throw;
                }

                return new FreshValue<int>(0, long.MaxValue);
            }, 0, caller.Token);
            await started.Task.WaitAsync(TimeSpan.FromSeconds(5));
            await caller.CancelAsync();

            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
            Assert.True(await Task.WhenAny(runCancelled.Task, Task.Delay(TimeSpan.FromSeconds(30))) == runCancelled.Task, $"run {i}: the caller left but its run was not cancelled");
        }
    }

    [Fact]
    public async Task A_run_goes_on_while_one_of_its_two_callers_remains()
    {
        var flights = new SingleFlight();
        var release = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        using var impatient = new CancellationTokenSource();
        async Task<FreshValue<int>> Work(CancellationToken token)
        {
            Interlocked.Increment(ref calls);
            return new FreshValue<int>(await release.Task.WaitAsync(token), long.MaxValue);
        }

        var first = flights.RunAsync("k", Work, 0, impatient.Token);
        var second = flights.RunAsync("k", Work, 0, CancellationToken.None);
        await impatient.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        release.SetResult(7);

        Assert.Equal(7, await second);
        Assert.Equal(1, calls);
    }

    /// <summary>
    /// Issue 16's first break: a caller that began after a run had read (or created) its value must not be handed that
    /// value, which may predate an invalidation that completed before the caller began. It runs again instead.
    /// </summary>
    [Fact]
    public async Task A_caller_that_began_after_the_run_read_its_value_runs_again_instead_of_taking_it()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var flights = new SingleFlight();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var firstRead = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runs = 0;
        async Task<FreshValue<string>> Work(CancellationToken token)
        {
            var run = Interlocked.Increment(ref runs);
            var readAt = time.GetTimestamp();
            if (run == 1)
            {
                firstRead.SetResult();
                await release.Task.WaitAsync(token);
            }

            return new FreshValue<string>($"v{run}", readAt);
        }

        var early = flights.RunAsync("k", Work, time.GetTimestamp(), CancellationToken.None);
        await firstRead.Task.WaitAsync(TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromSeconds(1));
        var late = flights.RunAsync("k", Work, time.GetTimestamp(), CancellationToken.None);
        release.SetResult();

        Assert.Equal("v1", await early);
        Assert.Equal("v2", await late);
        Assert.Equal(2, runs);
    }
}
