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
/// <remarks>
/// Who is first after the heal, A's flush or C's next view read, is what decides; the test makes it the fault's
/// doing, not the scheduler's: every frontend marks a server down at its first timeout (A has all its servers down
/// about 1 s into the blip, long past the hold when the links return) and probes every 20 ms (A finds its servers
/// back at once), and C's links to
/// the two servers that do not hold the counter carry 250 ms each way (half the operation timeout of 1 s), so a view
/// read of C takes about 500 ms: C learns of a fence 500 to 750 ms after it was published, and has B (1 s) after it
/// (a view read that takes longer lapses C's lease, which refuses the increments).
/// </remarks>
[Collection(WallClockBoundCollection.Name)]
public sealed class EdgeOfPromiseBlipTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Blip = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task Break6_a_frontend_whose_links_all_blip_causes_no_counter_value_to_be_handed_out_twice_within_one_epoch_of_another()
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, configure: o =>
        {
            o.OperationTimeout = TimeSpan.FromSeconds(1);
            o.FailureDetection.ConsecutiveTimeouts = 1;
            o.FailureDetection.ProbeInterval = TimeSpan.FromMilliseconds(20);
            o.FailureDetection.MaxProbeInterval = TimeSpan.FromMilliseconds(20);
        });
        harness.Slow(1, 1, TimeSpan.FromMilliseconds(250));
        harness.Slow(1, 2, TimeSpan.FromMilliseconds(250));
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

        var clock = Stopwatch.StartNew();
        var timeline = new ConcurrentQueue<(TimeSpan At, string What)>();
        counting.ServerFailed += (_, e) => Seen(e.Server);
        counting.ServerRecovered += (_, e) => Seen(e.Server);
        for (var f = 0; f < 2; f++)
        {
            var frontend = f == 0 ? "A" : "C";
            harness.Frontends[f].ServerFailed += (_, e) => timeline.Enqueue((clock.Elapsed, $"{frontend}: {e.Server} down ({e.Reason}, epoch {e.Epoch})"));
            harness.Frontends[f].ServerRecovered += (_, e) => timeline.Enqueue((clock.Elapsed, $"{frontend}: {e.Server} up (epoch {e.Epoch}{(e.FlushedByThisFrontend ? ", flushed here" : string.Empty)})"));
        }

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
        foreach (var (at, what) in timeline.OrderBy(t => t.At))
        {
            output.WriteLine($"{(at - healed).TotalMilliseconds,7:0} ms  {what}");
        }

        output.WriteLine($"server 0 is {server}; {handed.Count} values handed out, {refused} increments refused, server 0 flushed {flushes} times; {duplicates.Length} values handed out twice within one epoch of C: {detail}");
        Assert.True(handed.Count > 100, $"only {handed.Count} values were handed out: the counter was not exercised");
        Assert.True(duplicates.Length == 0, $"{duplicates.Length} counter values were handed out twice to frontend C with nothing telling C that server 0 had gone (it was flushed {flushes} times); first: {detail}");
    }
}
