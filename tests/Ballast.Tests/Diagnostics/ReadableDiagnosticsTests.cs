using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Ballast.Tests.Integrity;
using Microsoft.Extensions.Logging;

namespace Ballast.Tests.Diagnostics;

/// <summary>
/// What logs, errors and metrics say is what happened, in words an operator knows: why GetOrCreate went to the source
/// without a lease, what a timed-out request was for (not an internal key), and the server's port in its own tag.
/// </summary>
public sealed class ReadableDiagnosticsTests
{
    private const int LeaseWaitEnded = 13;
    private const int CreatedWithoutLease = 20;

    [Fact]
    public async Task GetOrCreate_on_a_down_server_says_the_server_is_down_not_that_another_frontend_holds_the_lease()
    {
        var logs = new CapturingLoggerProvider();
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, frontendCount: 1, configure: o => o.LoggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug)));
        var client = harness.Frontends[0];
        var key = harness.KeyOn(0, "down-create");
        Assert.True(await harness.KillAndWaitUntilDownAsync(0, key));

        Assert.Equal(7, await client.GetOrCreateAsync(key, _ => ValueTask.FromResult(7)));

        // Nothing was waited for: the run went straight to the factory, and says why.
        var line = Assert.Single(logs.Events, e => e.Id.Id is LeaseWaitEnded or CreatedWithoutLease && e.Message.Contains(key, StringComparison.Ordinal)).Message;
        Assert.Contains("its server is down or fenced", line, StringComparison.Ordinal);
        Assert.DoesNotContain("another frontend", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetOrCreate_that_waited_for_another_frontends_lease_says_so()
    {
        // The control of the test above: the same log event, when another frontend really holds the lease.
        var logs = new CapturingLoggerProvider();
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, frontendCount: 2, configure: o =>
        {
            o.LoggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
            o.GetOrCreate.LeaseWait = TimeSpan.FromMilliseconds(200);
        });
        var key = harness.KeyOn(0, "held-create");
        Assert.NotNull((await harness.Frontends[1].GetForRefillAsync(key)).Lease);

        Assert.Equal(7, await harness.Frontends[0].GetOrCreateAsync(key, _ => ValueTask.FromResult(7)));

        var line = Assert.Single(logs.Events, e => e.Id.Id == LeaseWaitEnded && e.Message.Contains(key, StringComparison.Ordinal)).Message;
        Assert.Contains("another frontend holds the refill lease", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stalled_witness_is_fenced_with_a_reason_that_names_the_shared_view_not_its_internal_keys()
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, frontendCount: 1);
        harness.Cut(0, 0);

        // Its view reads time out until it is marked down: the fence's detail is the last timeout's message.
        Assert.True(await IntegrityHarness.WaitUntilAsync(() => harness.Failures.Any(f => f.Server == harness.EndPoint(0)), TimeSpan.FromSeconds(10)));
        var detail = harness.Failures.First(f => f.Server == harness.EndPoint(0)).Detail;
        Assert.NotNull(detail);
        Assert.Contains("the shared view's record", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("ballast:", detail, StringComparison.Ordinal);
        Assert.DoesNotContain(":view:", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalidation_retries_carry_the_host_in_server_address_and_the_port_in_server_port()
    {
        var retries = new ConcurrentQueue<Dictionary<string, object?>>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "Ballast" && instrument.Name == "ballast.invalidation.retries")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            var map = new Dictionary<string, object?>();
            foreach (var tag in tags)
            {
                map[tag.Key] = tag.Value;
            }

            retries.Enqueue(map);
        });
        listener.Start();

        // A blackholed server that the detector does not mark down: the delete is journaled, and the journal's own
        // retries fail (and are counted) while the delete still waits for its confirmation.
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, frontendCount: 1, configure: o =>
        {
            o.FailureDetection.ConsecutiveTimeouts = 100;
            o.Invalidation.ConfirmTimeout = TimeSpan.FromSeconds(10);
        });
        var key = harness.KeyOn(0, "retried");
        harness.Cut(0, 0);
        var delete = harness.Frontends[0].DeleteAsync(key).AsTask();
        // The listener hears every client in the process (tests run in parallel): this test's retries are those of
        // its server's port, and their host must be the server's host.
        var port = harness.EndPoint(0).Port;
        bool Ours(Dictionary<string, object?> tags) => tags.TryGetValue("server.port", out var value) && Equals(value, port);
        var counted = await IntegrityHarness.WaitUntilAsync(() => retries.Any(Ours), TimeSpan.FromSeconds(8));
        harness.Heal(0, 0);
        await delete;

        Assert.True(counted, "no retry of the journaled invalidation was counted with the server's port in server.port");
        var tags = retries.First(Ours);
        Assert.Equal(harness.EndPoint(0).Host, tags["server.address"]);
        Assert.Equal(harness.EndPoint(0).Port, tags["server.port"]);
        Assert.Equal("memcached", tags["db.system.name"]);
        Assert.Contains(tags["ballast.outcome"], new object?[] { "failed", "confirmed" });
    }
}
