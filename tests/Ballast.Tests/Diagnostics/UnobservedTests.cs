using System.Diagnostics;
using System.Diagnostics.Metrics;
using Ballast.Diagnostics;
using Ballast.Tests.Support;

namespace Ballast.Tests.Diagnostics;

/// <summary>Nothing is measured while nobody listens, and measuring starts as soon as someone does.</summary>
[Collection(nameof(UnobservedTests))]
public sealed class UnobservedTests
{
    [Fact]
    public async Task Without_a_listener_operations_are_not_observed_and_with_one_they_are()
    {
        await using var servers = await MemcachedServers.StartAsync(1);
        await using var client = new MemcachedClient(servers.Options());
        await client.SetAsync("unobserved", "x");

        Assert.False(Instruments.IsOperationObserved);
        Assert.Null(Activity.Current);
        Assert.True((await client.GetAsync("unobserved")).IsHit);

        // Control: a listener on the duration histogram turns measuring on, and off again when it goes.
        var measured = 0;
        using (var listener = new MeterListener())
        {
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == BallastTelemetry.MeterName && instrument.Name == "db.client.operation.duration")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            listener.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref measured));
            listener.Start();
            Assert.True(Instruments.IsOperationObserved);
            await client.GetAsync("unobserved");
            Assert.Equal(1, measured);
        }

        Assert.False(Instruments.IsOperationObserved);
        await client.GetAsync("unobserved");
        Assert.Equal(1, measured);
    }
}
