using System.Diagnostics;

namespace Ballast.Tests.Integrity;

/// <summary>
/// The failback of a server that hosts a replica of the view (a witness) erases that replica's copy of every record.
/// Two such flushes at once would erase two of three copies, and the records of a server that had no fault would
/// read as lost: its recovery flushes it. So one witness failback at a time in the pool (the pool lock), each putting
/// back its replica's records from a read made before its flush.
/// </summary>
[Collection(WallClockBoundCollection.Name)]
public sealed class WitnessFailbackTests(ITestOutputHelper output)
{
    /// <summary>
    /// Three servers, all witnesses. Servers 1 and 2 are cut from the frontend at once and healed at once, so both
    /// come back in the same moment and both fail back. Server 0 had no fault: its record must survive the two
    /// flushes, so it is never flushed; servers 1 and 2 are flushed once each. Without the pool lock (mutant 40) the
    /// two flushes overlap, server 0's record is left on one replica of three, and its lost-record recovery flushes it.
    /// </summary>
    /// <remarks>
    /// Without the lock the two flushes overlap when both probes succeed in the same maintenance tick, which a run
    /// sees about three times in five here (the other runs probe one server a tick later, and the first flush has put
    /// its replica back by then): four runs, so that its absence shows with a probability of about 97 %.
    /// </remarks>
    /// <param name="run">Which of the runs.</param>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task Two_witnesses_that_return_together_are_flushed_one_at_a_time_and_the_third_server_keeps_its_record(int run)
    {
        output.WriteLine($"run {run}");
        // One frontend: it runs the recovery steps of both servers in the same maintenance tick, so without the pool
        // lock their flushes overlap every time rather than when two frontends' races happen to line up.
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Offline, frontendCount: 1);
        var keys = Enumerable.Range(0, 3).Select(s => harness.KeyOn(s, "witness-failback")).ToArray();

        using var stop = new CancellationTokenSource();
        var reader = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                foreach (var key in keys)
                {
                    await harness.ReadAsync(0, key);
                }

                await Task.Delay(20);
            }
        });

        // Only the flushes of this scenario count (a brand-new pool's first records may cost flushes of their own).
        var cutAt = DateTimeOffset.UtcNow;
        harness.CutAll(1);
        harness.CutAll(2);
        await Task.Delay(TimeSpan.FromSeconds(2));
        harness.HealAll(1);
        harness.HealAll(2);

        // The fences are held for B before either flush, then both fail back; a recovery of a lost record would wait
        // B more before its flush. Watch until both are readmitted, and a little past such a recovery's flush.
        var since = Stopwatch.StartNew();
        await IntegrityHarness.WaitUntilAsync(
            () => Enumerable.Range(0, 3).All(s => harness.Frontends[0].GetServerState(harness.EndPoint(s)) == ServerState.Up),
            TimeSpan.FromSeconds(10));
        var settledAfter = since.Elapsed;
        await Task.Delay(TimeSpan.FromSeconds(3));
        await stop.CancelAsync();
        await reader;

        var flushes = harness.Flushes.Where(f => f.Args.Time >= cutAt).ToArray();
        var of = Enumerable.Range(0, 3).Select(s => flushes.Count(f => f.Args.Server == harness.EndPoint(s))).ToArray();
        var ours = string.Join(" | ", flushes.Select(f => $"{f.Args.Server} {f.Args.Reason} epoch {f.Args.Epoch} at {f.Args.Time:HH:mm:ss.fff}"));
        output.WriteLine($"all up {settledAfter.TotalSeconds:0.0} s after the heal; flushes since the cut: s0 {of[0]}, s1 {of[1]}, s2 {of[2]}; {ours}");
        output.WriteLine("fenced: " + string.Join(" | ", harness.Failures.Select(f => f.ToString())));
        Assert.True(of[0] == 0, $"server 0, which had no fault, was flushed {of[0]} times when servers 1 and 2 failed back together ({ours})");
        Assert.True(of[1] <= 1 && of[2] <= 1, $"servers 1 and 2 were flushed {of[1]} and {of[2]} times for one outage ({ours})");
    }
}
