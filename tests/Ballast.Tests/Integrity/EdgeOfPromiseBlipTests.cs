using System.Collections.Concurrent;
using System.Diagnostics;

namespace Ballast.Tests.Integrity;

/// <summary>
/// Issue 16, break 6: a counter value handed out twice after one frontend's network blip. Frontend A loses every
/// link for 3 s (it marks every server down but cannot publish a fence: no quorum), then gets them back. Frontend C
/// reaches everything throughout and increments a counter on server 0 as fast as it can. A flush of server 0
/// restarts the counter, which is allowed only where C can tell: C must see the server unavailable (an increment
/// refused, or a failure or readmission event) between any two handings-out of the same value.
/// </summary>
[Collection(WallClockBoundCollection.Name)]
public sealed class EdgeOfPromiseBlipTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Blip = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task Break6_a_frontend_whose_links_all_blip_causes_no_counter_value_to_be_handed_out_twice_within_one_epoch_of_another()
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline);
        var counting = harness.Frontends[1];
        var server = harness.EndPoint(0);
        var counter = harness.KeyOn(0, "edge6-counter");
        var flushesBefore = await harness.FlushCountAsync(0);

        // C's epoch of server 0: it moves whenever C is told the server is not there (an event or a refused increment).
        var epoch = 0;
        void Seen(ServerEndPoint which)
        {
            if (which == server)
            {
                Interlocked.Increment(ref epoch);
            }
        }

        counting.ServerFailed += (_, e) => Seen(e.Server);
        counting.ServerRecovered += (_, e) => Seen(e.Server);

        var clock = Stopwatch.StartNew();
        var handed = new ConcurrentQueue<(ulong Value, int Epoch, TimeSpan At)>();
        var refused = 0;
        using var stop = new CancellationTokenSource();
        var incrementing = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var result = await counting.IncrementAsync(counter, 1, initial: 1);
                    if (result.Found)
                    {
                        handed.Enqueue((result.Value, Volatile.Read(ref epoch), clock.Elapsed));
                    }
                }
                catch (MemcachedException)
                {
                    Interlocked.Increment(ref epoch);
                    refused++;
                    await Task.Delay(5);
                }
            }
        });

        await Task.Delay(1000);
        for (var s = 0; s < 3; s++)
        {
            harness.Cut(0, s);
        }

        await Task.Delay(Blip);
        for (var s = 0; s < 3; s++)
        {
            harness.Heal(0, s);
        }

        var healed = clock.Elapsed;
        await Task.Delay(3000);
        await stop.CancelAsync();
        await incrementing;

        var duplicates = handed.GroupBy(h => (h.Epoch, h.Value)).Where(g => g.Count() > 1).Select(g => g.OrderBy(h => h.At).ToArray()).OrderBy(g => g[1].At).ToArray();
        var flushes = await harness.FlushCountAsync(0) - flushesBefore;
        var detail = duplicates.Length == 0 ? "none" : string.Join("; ", duplicates.Take(3).Select(d => $"{d[0].Value} at {(d[0].At - healed).TotalMilliseconds:0} and {(d[1].At - healed).TotalMilliseconds:0} ms from the heal"));
        output.WriteLine($"{handed.Count} values handed out, {refused} increments refused, server 0 flushed {flushes} times; {duplicates.Length} values handed out twice within one epoch of C: {detail}");
        Assert.True(handed.Count > 100, $"only {handed.Count} values were handed out: the counter was not exercised");
        Assert.True(duplicates.Length == 0, $"{duplicates.Length} counter values were handed out twice to frontend C with nothing telling C that server 0 had gone (it was flushed {flushes} times); first: {detail}");
    }
}
