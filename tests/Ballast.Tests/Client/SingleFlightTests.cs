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

                return 0;
            }, caller.Token);
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
        Task<int> Work(CancellationToken token)
        {
            Interlocked.Increment(ref calls);
            return release.Task.WaitAsync(token);
        }

        var first = flights.RunAsync("k", Work, impatient.Token);
        var second = flights.RunAsync("k", Work, CancellationToken.None);
        await impatient.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        release.SetResult(7);

        Assert.Equal(7, await second);
        Assert.Equal(1, calls);
    }
}
