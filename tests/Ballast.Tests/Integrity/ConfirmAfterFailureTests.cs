namespace Ballast.Tests.Integrity;

/// <summary>
/// A delete whose first attempt fails while the failure detector does not mark the server down (timeouts below its
/// threshold): the detector fences nothing on its own, so the confirm-or-fence step alone decides. The delete must end
/// confirmed by a retry that landed, or fenced; never reported done while the value is still on the server.
/// </summary>
public sealed class ConfirmAfterFailureTests
{
    [Theory]
    [InlineData(FailoverPolicy.Offline)]
    [InlineData(FailoverPolicy.Replicated)]
    public async Task A_delete_whose_first_attempt_times_out_ends_confirmed_by_a_retry_or_fenced(FailoverPolicy policy)
    {
        await using var harness = await IntegrityHarness.StartAsync(policy, frontendCount: 2, configure: options =>
        {
            // Timeouts stay below the detector's threshold, and the retries have time to land after the link heals.
            options.FailureDetection.ConsecutiveTimeouts = 10;
            options.Invalidation.ConfirmTimeout = TimeSpan.FromSeconds(5);
        });
        var key = harness.KeyOn(0, "confirm");
        Assert.Equal(1, await harness.ReadAsync(0, key));
        Assert.Equal(1, await harness.ReadAsync(1, key));
        Assert.NotNull(await harness.DirectGetAsync(0, key));

        // The first attempt (and maybe a retry) is lost in a blackhole; the link heals 500 ms in.
        harness.Cut(0, 0);
        var delete = harness.Frontends[0].DeleteAsync(key).AsTask();
        var heal = Task.Delay(500).ContinueWith(_ => harness.Heal(0, 0), TaskScheduler.Default);
        var status = await delete;
        var onServer = await harness.DirectGetAsync(0, key);
        var seenElsewhere = (await harness.Frontends[1].GetAsync(key)).IsHit;
        await heal;

        if (status == DeleteStatus.ServerFenced)
        {
            Assert.True(await harness.WaitForStateAsync(0, ServerState.Down, TimeSpan.FromSeconds(1), 1), "fenced, but frontend 1 still reads S0");
        }
        else
        {
            // Confirmed: by this call's retry (Deleted) or by the journal's retry racing it (NotFound). Either way the
            // delete has landed: frontend 1, which reaches S0, misses at once.
            Assert.Contains(status, new[] { DeleteStatus.Deleted, DeleteStatus.NotFound });
            Assert.False(seenElsewhere, "the delete was reported done, but frontend 1 still read the old value");
            if (policy == FailoverPolicy.Offline)
            {
                Assert.Null(onServer);
            }

            Assert.Empty(harness.Failures);
        }
    }
}
