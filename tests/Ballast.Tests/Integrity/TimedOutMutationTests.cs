namespace Ballast.Tests.Integrity;

/// <summary>
/// S7: a delete that times out on a slow (not dead) server may or may not have been applied. The key must not be
/// read from that server in its old state afterwards.
/// </summary>
public sealed class TimedOutMutationTests
{
    [Theory]
    [InlineData(FailoverPolicy.Offline)]
    [InlineData(FailoverPolicy.Gutter)]
    [InlineData(FailoverPolicy.Replicated)]
    public async Task S7_a_delete_that_times_out_is_confirmed_or_its_server_fenced(FailoverPolicy policy)
    {
        await using var harness = await IntegrityHarness.StartAsync(policy, frontendCount: 2);
        var key = harness.KeyOn(0, "s7");
        Assert.Equal(1, await harness.ReadAsync(0, key));
        Assert.Equal(1, await harness.ReadAsync(1, key));

        // Frontend 0's link to S is slower than its operation timeout; frontend 1's is not.
        harness.Slow(0, 0, TimeSpan.FromMilliseconds(900));
        Assert.Equal(2, await harness.WriteAsync(0, key));
        await Task.Delay(TimeSpan.FromSeconds(1.1));

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(2, await harness.ReadAsync(1, key));
        }

        // After the link heals, the late answers must not be taken for later requests' answers.
        harness.Heal(0, 0);
        Assert.True(await harness.WaitForStateAsync(0, ServerState.Up, TimeSpan.FromSeconds(10)));
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(2, await harness.ReadAsync(0, key));
            await harness.Frontends[0].SetAsync($"other-{i}", $"o{i}");
            Assert.Equal($"o{i}", await harness.Frontends[0].GetStringAsync($"other-{i}"));
        }
    }

    [Fact]
    public async Task S7_control_under_rehash_a_timed_out_delete_leaves_the_old_value_readable()
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Rehash, frontendCount: 2);
        var key = harness.KeyOn(0, "s7r");
        Assert.Equal(1, await harness.ReadAsync(1, key));
        harness.Cut(0, 0);
        Assert.Equal(2, await harness.WriteAsync(0, key));
        await Task.Delay(TimeSpan.FromSeconds(1.1));
        Assert.Equal(1, await harness.ReadAsync(1, key));
    }
}
