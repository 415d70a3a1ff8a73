using Ballast.Health;
using Microsoft.Extensions.Time.Testing;

namespace Ballast.Tests.Health;

/// <summary>
/// Every transition of a server's health state machine, driven by a fake clock (no sleeping), including fences and
/// readmissions racing on several threads.
/// </summary>
public sealed class ServerHealthTests
{
    private readonly FakeTimeProvider _time = new();

    private static FailureDetectionOptions NoJitter() => new()
    {
        ProbeInterval = TimeSpan.FromMilliseconds(100),
        ProbeBackoffMultiplier = 2,
        MaxProbeInterval = TimeSpan.FromMilliseconds(300),
        ProbeJitter = 0,
    };

    [Fact]
    public void Timeouts_make_a_server_suspect_then_down_at_the_threshold_and_a_success_clears_suspicion()
    {
        var health = new ServerHealth(new FailureDetectionOptions(), _time);
        Assert.Equal(HealthState.Up, health.State);
        Assert.False(health.RecordTimeout());
        Assert.Equal(HealthState.Suspect, health.State);
        Assert.False(health.IsDown);
        Assert.True(health.CanSend);
        Assert.False(health.RecordTimeout());
        health.RecordSuccess();
        Assert.Equal(HealthState.Up, health.State);

        Assert.False(health.RecordTimeout());
        Assert.False(health.RecordTimeout());
        Assert.True(health.RecordTimeout());
        Assert.Equal(HealthState.Down, health.State);
        Assert.True(health.IsDown);
        Assert.False(health.CanSend);
        Assert.False(health.RecordTimeout());
        Assert.Equal(_time.GetTimestamp(), health.DownSince);
    }

    [Fact]
    public void A_reset_or_fence_marks_down_at_once_and_only_the_first_mark_counts()
    {
        var health = new ServerHealth(new FailureDetectionOptions(), _time);
        Assert.True(health.MarkDown());
        Assert.False(health.MarkDown());
        Assert.Equal(HealthState.Down, health.State);
    }

    [Fact]
    public void Down_then_probing_then_recovering_then_up_with_the_probe_schedule_in_between()
    {
        var health = new ServerHealth(NoJitter(), _time);
        health.MarkDown();
        Assert.False(health.TryStartProbe());
        _time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.True(health.IsProbeDue());
        Assert.True(health.TryStartProbe());
        Assert.Equal(HealthState.Probing, health.State);
        Assert.False(health.TryStartProbe());
        Assert.False(health.CanSend);

        health.ProbeSucceeded();
        Assert.Equal(HealthState.Recovering, health.State);
        Assert.True(health.IsDown);
        Assert.True(health.CanSend);

        Assert.True(health.Readmit());
        Assert.Equal(HealthState.Up, health.State);
        Assert.Equal(0, health.DownSince);
        Assert.False(health.Readmit());
    }

    [Fact]
    public void Failed_probes_back_off_by_the_multiplier_up_to_the_cap()
    {
        var health = new ServerHealth(NoJitter(), _time);
        health.MarkDown();
        _time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.True(health.TryStartProbe());
        health.ProbeFailed();
        Assert.Equal(HealthState.Down, health.State);

        _time.Advance(TimeSpan.FromMilliseconds(199));
        Assert.False(health.TryStartProbe());
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(health.TryStartProbe());
        health.ProbeFailed();

        _time.Advance(TimeSpan.FromMilliseconds(299));
        Assert.False(health.IsProbeDue());
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(health.IsProbeDue());
    }

    [Fact]
    public void Jitter_spreads_probes_within_the_configured_fraction()
    {
        var options = new FailureDetectionOptions { ProbeInterval = TimeSpan.FromMilliseconds(100), ProbeJitter = 0.5 };
        var health = new ServerHealth(options, _time);
        health.MarkDown();
        _time.Advance(TimeSpan.FromMilliseconds(99));
        Assert.False(health.IsProbeDue());
        _time.Advance(TimeSpan.FromMilliseconds(51));
        Assert.True(health.IsProbeDue());
    }

    [Fact]
    public void Contact_lost_while_recovering_goes_back_to_down_and_waits_for_a_probe()
    {
        var health = new ServerHealth(NoJitter(), _time);
        health.MarkDown();
        _time.Advance(TimeSpan.FromMilliseconds(100));
        health.TryStartProbe();
        health.ProbeSucceeded();
        health.ContactLost();
        Assert.Equal(HealthState.Down, health.State);
        Assert.False(health.CanSend);
    }

    [Fact]
    public void A_fence_during_recovery_takes_the_server_back_to_down()
    {
        var health = new ServerHealth(NoJitter(), _time);
        health.MarkDown();
        _time.Advance(TimeSpan.FromMilliseconds(100));
        health.TryStartProbe();
        health.ProbeSucceeded();
        Assert.False(health.MarkDown());
        Assert.Equal(HealthState.Down, health.State);
    }

    [Fact]
    public void Epochs_only_grow_and_an_owed_fence_is_remembered_until_published()
    {
        var health = new ServerHealth(new FailureDetectionOptions(), _time);
        health.ObserveEpoch(5);
        health.ObserveEpoch(3);
        Assert.Equal(5, health.Epoch);
        health.OweFence(7);
        Assert.True(health.FenceOwed);
        Assert.Equal(7, health.Epoch);
        health.OweFence(6);
        Assert.Equal(7, health.Epoch);
        health.FencePublished();
        Assert.False(health.FenceOwed);
    }

    [Fact]
    public void Outages_are_counted_within_the_flap_window()
    {
        var health = new ServerHealth(new FailureDetectionOptions(), _time);
        for (var i = 0; i < 3; i++)
        {
            health.MarkDown();
            health.Readmit();
            _time.Advance(TimeSpan.FromSeconds(10));
        }

        Assert.Equal(3, health.OutagesWithin(TimeSpan.FromSeconds(60)));
        Assert.Equal(1, health.OutagesWithin(TimeSpan.FromSeconds(15)));
    }

    [Fact]
    public void A_failback_lock_held_elsewhere_is_not_retried_for_that_epoch_until_its_time_to_live_passed()
    {
        var health = new ServerHealth(new FailureDetectionOptions(), _time);
        Assert.True(health.MayTakeFailbackLock(4));
        health.FailbackLockHeldElsewhere(4, TimeSpan.FromSeconds(10));
        Assert.False(health.MayTakeFailbackLock(4));
        Assert.True(health.MayTakeFailbackLock(5));
        _time.Advance(TimeSpan.FromSeconds(9.9));
        Assert.False(health.MayTakeFailbackLock(4));
        _time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.True(health.MayTakeFailbackLock(4));
    }

    [Fact]
    public void Only_one_maintenance_step_runs_at_a_time()
    {
        var health = new ServerHealth(new FailureDetectionOptions(), _time);
        Assert.True(health.TryBeginStep());
        Assert.False(health.TryBeginStep());
        health.EndStep();
        Assert.True(health.TryBeginStep());
    }

    [Fact]
    public void Concurrent_epochs_are_never_lost()
    {
        // DownEpoch = Math.Max(...) written from several threads without a lock could lose the larger epoch.
        var health = new ServerHealth(new FailureDetectionOptions(), _time);
        Parallel.For(1, 20_001, new ParallelOptions { MaxDegreeOfParallelism = 4 }, epoch =>
        {
            if (epoch % 2 == 0)
            {
                health.ObserveEpoch(epoch);
            }
            else
            {
                health.OweFence(epoch);
            }
        });
        Assert.Equal(20_000, health.Epoch);
    }

    [Fact]
    public void Concurrent_fences_and_readmissions_alternate_one_transition_at_a_time()
    {
        var health = new ServerHealth(new FailureDetectionOptions(), _time);
        var downs = 0;
        var ups = 0;
        Parallel.For(0, 20_000, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            if (i % 2 == 0)
            {
                if (health.MarkDown())
                {
                    Interlocked.Increment(ref downs);
                }
            }
            else if (health.Readmit())
            {
                Interlocked.Increment(ref ups);
            }
        });

        // Each transition is reported once and they alternate, so the counts differ by the final state only.
        Assert.Equal(health.IsDown ? 1 : 0, downs - ups);
        Assert.True(downs > 0);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(101)]
    public void Out_of_range_options_are_refused_naming_the_option(int timeouts)
    {
        var options = new MemcachedClientOptions { Servers = { new ServerEndPoint("127.0.0.1") } };
        options.FailureDetection.ConsecutiveTimeouts = timeouts;
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new MemcachedClient(options));
        Assert.Contains("ConsecutiveTimeouts", error.Message, StringComparison.Ordinal);
    }
}
