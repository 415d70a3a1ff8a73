using Ballast.Health;
using Ballast.Tests.Support;

namespace Ballast.Tests.Health;

/// <summary>The failure detector's counting and probe schedule, on a manual clock: no sleeping.</summary>
public sealed class FailureDetectorTests
{
    private readonly ManualTimeProvider _time = new();

    [Fact]
    public void Three_consecutive_timeouts_mark_a_server_down_and_a_success_breaks_the_run()
    {
        var detector = new FailureDetector(new FailureDetectionOptions(), _time);
        Assert.False(detector.RecordTimeout());
        Assert.False(detector.RecordTimeout());
        detector.RecordSuccess();
        Assert.False(detector.RecordTimeout());
        Assert.False(detector.RecordTimeout());
        Assert.False(detector.IsDown);
        Assert.True(detector.RecordTimeout());
        Assert.True(detector.IsDown);
        Assert.False(detector.RecordTimeout());
    }

    [Fact]
    public void Probes_back_off_by_the_multiplier_up_to_the_cap()
    {
        var options = new FailureDetectionOptions
        {
            ProbeInterval = TimeSpan.FromMilliseconds(100),
            ProbeBackoffMultiplier = 2,
            MaxProbeInterval = TimeSpan.FromMilliseconds(300),
            ProbeJitter = 0,
        };
        var detector = new FailureDetector(options, _time);
        Assert.True(detector.MarkDown());
        Assert.False(detector.MarkDown());

        Assert.False(detector.IsProbeDue());
        _time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.True(detector.IsProbeDue());

        detector.ProbeFailed();
        _time.Advance(TimeSpan.FromMilliseconds(199));
        Assert.False(detector.IsProbeDue());
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(detector.IsProbeDue());

        detector.ProbeFailed();
        _time.Advance(TimeSpan.FromMilliseconds(299));
        Assert.False(detector.IsProbeDue());
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(detector.IsProbeDue());

        detector.MarkUp();
        Assert.False(detector.IsDown);
        Assert.False(detector.IsProbeDue());
    }

    [Fact]
    public void Jitter_spreads_probes_within_the_configured_fraction()
    {
        var options = new FailureDetectionOptions { ProbeInterval = TimeSpan.FromMilliseconds(100), ProbeJitter = 0.5 };
        var detector = new FailureDetector(options, _time);
        detector.MarkDown();
        _time.Advance(TimeSpan.FromMilliseconds(99));
        Assert.False(detector.IsProbeDue());
        _time.Advance(TimeSpan.FromMilliseconds(51));
        Assert.True(detector.IsProbeDue());
    }

    [Fact]
    public void Outages_are_counted_within_the_flap_window()
    {
        var detector = new FailureDetector(new FailureDetectionOptions(), _time);
        for (var i = 0; i < 3; i++)
        {
            detector.MarkDown();
            detector.MarkUp();
            _time.Advance(TimeSpan.FromSeconds(10));
        }

        Assert.Equal(3, detector.OutagesWithin(TimeSpan.FromSeconds(60)));
        Assert.Equal(1, detector.OutagesWithin(TimeSpan.FromSeconds(15)));
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
