using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Ballast.Diagnostics;
using Ballast.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Ballast.Tests.Diagnostics;

/// <summary>Metrics, spans and logs as a MeterListener, an ActivityListener and a logger provider see them, against real memcached.</summary>
public sealed class TelemetryTests : IAsyncLifetime
{
    private MemcachedServers _servers = null!;

    public async Task InitializeAsync() => _servers = await MemcachedServers.StartAsync(3);

    public async Task DisposeAsync() => await _servers.DisposeAsync();

    [Fact]
    public async Task A_MeterListener_sees_operation_duration_with_the_semantic_convention_tags_and_hits_and_misses()
    {
        var ports = _servers.EndPoints.Select(e => e.Port).ToHashSet();
        var measurements = new ConcurrentBag<(string Instrument, double Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "Ballast")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Add(i, v, tags));
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Add(i, v, tags));
        listener.Start();

        await using var client = new MemcachedClient(_servers.Options());
        await client.SetAsync("metered", "x");
        await client.GetAsync("metered");
        await client.GetAsync("not-there");
        var home = client.Locate("metered");

        var durations = measurements.Where(m => m.Instrument == "db.client.operation.duration").ToList();
        var get = durations.First(m => (string?)m.Tags["db.operation.name"] == "get" && (int)m.Tags["server.port"]! == home.Port);
        Assert.InRange(get.Value, 0.0, 10.0);
        Assert.Equal("memcached", get.Tags["db.system.name"]);
        Assert.Equal(home.Host, get.Tags["server.address"]);
        Assert.Contains(durations, m => (string?)m.Tags["db.operation.name"] == "set");
        Assert.Single(measurements, m => m.Instrument == "ballast.client.hits");
        Assert.Single(measurements, m => m.Instrument == "ballast.client.misses");

        void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var map = new Dictionary<string, object?>();
            foreach (var tag in tags)
            {
                map[tag.Key] = tag.Value;
            }

            if (map.TryGetValue("server.port", out var port) && port is int p && ports.Contains(p))
            {
                measurements.Add((instrument.Name, value, map));
            }
        }
    }

    [Fact]
    public async Task One_client_span_per_operation_with_its_server_and_an_error_status_on_failure()
    {
        var ports = _servers.EndPoints.Select(e => e.Port).ToHashSet();
        var spans = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == BallastTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                if (a.GetTagItem("server.port") is int p && ports.Contains(p))
                {
                    spans.Add(a);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        await using var client = new MemcachedClient(_servers.Options());
        using var parent = new Activity("request").Start();
        await client.SetAsync("traced", "x");
        await client.GetAsync("traced");
        await client.DeleteAsync("traced");
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await client.IncrementAsync("traced-counter", timeToLive: TimeSpan.FromSeconds(-1)));
        Assert.Same(parent, Activity.Current);

        Assert.Equal(["delete", "get", "incr", "set"], spans.Select(s => s.DisplayName).Order());
        var failed = Assert.Single(spans, s => s.DisplayName == "incr");
        Assert.Equal(ActivityStatusCode.Error, failed.Status);
        Assert.Equal(typeof(ArgumentOutOfRangeException).FullName, failed.GetTagItem("error.type"));
        Assert.All(spans, s =>
        {
            Assert.Equal(ActivityKind.Client, s.Kind);
            Assert.Equal(parent.TraceId, s.TraceId);
            Assert.Equal("memcached", s.GetTagItem("db.system.name"));
        });
    }

    [Fact]
    public async Task The_journal_depth_and_view_age_gauges_report_each_live_client_by_pool_name()
    {
        await using var client = new MemcachedClient(_servers.Options(o => o.SharedView.PoolName = "gauged-" + Guid.NewGuid().ToString("N")[..8]));
        await WaitUntilAsync(() => client.IsSharedViewFresh);
        var seen = new ConcurrentDictionary<string, double>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == BallastTelemetry.MeterName && instrument.Name is "ballast.invalidation.journal.depth" or "ballast.view.age")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Keep(i, v, tags));
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Keep(i, v, tags));
        listener.Start();
        listener.RecordObservableInstruments();

        Assert.Equal(0, seen["ballast.invalidation.journal.depth"]);
        Assert.InRange(seen["ballast.view.age"], 0, client.SharedViewAge!.Value.TotalSeconds + 1);

        // A disposed client is no longer reported.
        await client.DisposeAsync();
        seen.Clear();
        listener.RecordObservableInstruments();
        Assert.Empty(seen);

        void Keep(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "ballast.pool.name" && (string?)tag.Value == client.PoolName)
                {
                    seen[instrument.Name] = value;
                }
            }
        }
    }

    [Fact]
    public async Task Fences_and_failbacks_are_logged_with_the_server_and_counted()
    {
        var counted = new ConcurrentDictionary<string, long>();
        var victimPort = _servers.EndPoints.First().Port;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == BallastTelemetry.MeterName && instrument.Name is "ballast.server.fences" or "ballast.server.failbacks")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "server.port" && tag.Value is int port && port == victimPort)
                {
                    counted.AddOrUpdate(instrument.Name, value, (_, n) => n + value);
                }
            }
        });
        listener.Start();
        var provider = new CapturingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(provider).SetMinimumLevel(LogLevel.Debug));
        await using var client = new MemcachedClient(_servers.Options(o =>
        {
            o.LoggerFactory = factory;
            o.Failback.MinimumDownTime = TimeSpan.FromMilliseconds(200);

            // A server is flushed only once its fence has been held for the bound: the servers' 30 s would outlast the test.
            o.SharedView.Bound = TimeSpan.FromSeconds(1);
        }));
        var victim = _servers[0];
        var victimEndPoint = _servers.EndPoints.First();
        await client.SetAsync("warm", "x");
        victim.Kill();
        await WaitUntilAsync(() => provider.Events.Any(e => e.Id.Id == 1));
        var fence = provider.Events.First(e => e.Id.Id == 1);
        Assert.Equal(LogLevel.Warning, fence.Level);
        Assert.Contains(victimEndPoint.ToString(), fence.Message, StringComparison.Ordinal);

        await WaitUntilAsync(() => counted.ContainsKey("ballast.server.fences"));

        await victim.RestartAsync();
        await WaitUntilAsync(() => provider.Events.Any(e => e.Id.Id == 2));
        Assert.Contains(victimEndPoint.ToString(), provider.Events.First(e => e.Id.Id == 2).Message, StringComparison.Ordinal);
        await WaitUntilAsync(() => counted.ContainsKey("ballast.server.failbacks"));
        Assert.True(counted["ballast.server.fences"] >= 1);
        Assert.True(counted["ballast.server.failbacks"] >= 1);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.True(condition());
    }
}
