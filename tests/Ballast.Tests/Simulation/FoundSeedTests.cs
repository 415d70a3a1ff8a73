using Ballast.Simulation;
using Ballast.Simulation.Checking;

namespace Ballast.Tests.Simulation;

/// <summary>
/// Seeds on which the simulator found a break that is now fixed, replayed exactly: each must stay clean. Each failed on
/// the code (or the checker) before its fix (named with the seed), so each is its own control.
/// </summary>
public sealed class FoundSeedTests(ITestOutputHelper output)
{
    [Theory]
    // A frontend cut from every link for the whole outage never saw the server down, then read the readmission (a
    // newer epoch, the server flushed) and went on incrementing a counter that had started again: it was not told.
    [InlineData("Offline", 1006582)]
    // A frontend cut from the view's replicas owed a fence, and fenced the readmission another frontend made while it
    // was away (no invalidation of its own depended on it): the pool did not settle.
    [InlineData("Replicated", 1005215)]
    // An invalidation owed for want of a quorum was journaled at a lagging view's epoch and "settled" by a
    // readmission made before it failed; the delete was never sent, and the pool did not settle.
    [InlineData("Offline", 1008908)]
    // The checker's own break: a flush (the operator's, here) landed between the server's increment and its answer's
    // arrival, and the value was judged in the epoch after the flush, so the counter's restart looked like a duplicate.
    [InlineData("Offline", 1006534)]
    [InlineData("Gutter", 1009697)]
    // A lost-record recovery whose snapshots a blip cut short flushed anyway, could not readmit, and the next
    // recovery flushed the server a second time for one outage.
    [InlineData("Offline", 2000155)]
    // A recovery put its pool lock back with a set after its own flush wiped it, over the lock another frontend had
    // just taken there: two holders, two recoveries, one server flushed twice (traced on 2009330, whose replay then
    // showed the next break below; 2001849's double flush went with the same two changes).
    [InlineData("Offline", 2001849)]
    // A recovery's readmission failed where another frontend's read repair had rewritten the very record it
    // snapshotted; the next recovery flushed the server again.
    [InlineData("Offline", 2003807)]
    // A lost record fenced at "seen + 1" was outranked by an older "up" copy on a replica that had not answered; the
    // server was back in use with no flush.
    [InlineData("Offline", 2009330)]
    // A failback read its snapshot before waiting for the pool lock; meanwhile another frontend took the outage's
    // lock (wiped by a witness's flush), flushed and readmitted the server; the first flushed it again under a
    // frontend counting on it.
    [InlineData("Gutter", 2003505)]
    // A late fence's writer took over a lost record's fence; the recovery that owned it never ran: not settled.
    [InlineData("Gutter", 2000532)]
    // A gutter entry written while the outage's fence was this frontend's own was served after another frontend
    // wrote a newer value to the key's server.
    [InlineData("Gutter", 2003580)]
    [InlineData("Gutter", 2008595)]
    // A caller-versioned set whose read of the copy timed out fell back to an add, which a copy of an older version
    // refused: the older version was served after the set returned.
    [InlineData("Replicated", 2000418)]
    // A server killed under a blackhole restarted empty with no reset reaching any frontend: too few timeouts to mark
    // it down, new connections found it answering, and its counters were handed out again from 1. Its own copy of
    // its record, gone while the others still had it up, now fences it.
    [InlineData("Offline", 3003880)]
    [InlineData("Gutter", 3003880)]
    // A set whose caller cancelled while a new frontend's first view read went on was never sent, and nothing
    // invalidated the key: the old value was served for a second and more.
    [InlineData("Offline", 3004015)]
    [InlineData("Replicated", 3004112)]
    // A set whose caller cancelled landed just after another frontend's delete of a newer version, and stayed.
    [InlineData("Offline", 3004436)]
    // A recovery's lock copy vanished with its witness's restart; another frontend took it and a freed copy, and
    // both recovered the same servers: each flushed them (3002905). Locks are checked once more before a flush.
    [InlineData("Offline", 3002905)]
    [InlineData("Replicated", 3003063)]
    // The checker's own: a lost record's verdict and its fence (past the clock) name one outage with two epochs, and
    // the outage was dated by the lagging frontend that saw only the fence, after the flush.
    [InlineData("Offline", 3003047)]
    // The checker's own: a frontend read a record lost between a recovery's flush and its readmission, and adopting
    // that readmission counted as one without a flush.
    [InlineData("Gutter", 2002316)]
    public void A_seed_that_found_a_fixed_break_replays_clean(string policy, int seed)
        => ReplaysClean(new SimulationOptions { Policy = Enum.Parse<FailoverPolicy>(policy) }, seed);

    /// <summary>Seeds found by <c>ballast sim</c> with its batch calls (<c>--batch-ratio 0.15</c>, the command's default).</summary>
    [Theory]
    // Two frontends each recovered a brand-new pool: the first's flush wiped its lock, the second took it, read no
    // record, and flushed every server again after the first had written them up; a third counted in between.
    [InlineData("Gutter", 6003662)]
    [InlineData("Gutter", 6009964)]
    [InlineData("Gutter", 6012231)]
    // An increment dispatched while a partition held up the opening of its connection reached the server 770 ms later,
    // after the server was fenced and another frontend's failback had flushed it.
    [InlineData("Offline", 7002594)]
    // A failback's readmission whose last write a blackhole held up for 2.2 s completed after another frontend's fence;
    // the frontend readmitted the server anyway, and on reading the fence marked it down again without saying so.
    [InlineData("Replicated", 9015860)]
    // A recovery's flush wiped its lock; another frontend's recovery took it and touched the lost record's fence, so
    // the first one's readmission failed its compare-and-swap and the second flushed the server again.
    [InlineData("Offline", 9008604)]
    [InlineData("Gutter", 9000641)]
    [InlineData("Replicated", 9013992)]
    [InlineData("Offline", 10010878)]
    [InlineData("Gutter", 10008019)]
    [InlineData("Replicated", 10017505)]
    // A failback flushed a gutter server for an outage whose fence a lost-record recovery had touched over at the same
    // epoch ("lost"), while that recovery flushed and readmitted it: its own view still held its own fence of that
    // epoch, so it did not leave the server to the recovery (found on 475955a, range 12000000).
    [InlineData("Gutter", 12000043)]
    // A frontend that flushed a server and failed to readmit it kept the outage's failback lock; its own later
    // failbacks of the two witnesses holding the lock's copies wiped them, and another frontend took them and flushed
    // the server a second time for the outage (found on c4829a7, range 16000000).
    [InlineData("Replicated", 16005553)]
    // A remove whose caller cancelled while its delete waited for a connect through a one-way partition: the grace
    // failed the request, but the connect held its wait for the whole connect timeout, so the server was fenced 1 s
    // after the caller left and a read 1.1 s after was stale (found on aca2fd1, range 19000000).
    [InlineData("Replicated", 19005985)]
    // A set not sent to a server this frontend held down, which another had flushed and readmitted meanwhile: owed as
    // a delete until confirmed, which a one-way partition held for 1.3 s while the others read the old value; the
    // failed delete now fences the server, as any invalidation does (found on 8415663, range 20000000).
    [InlineData("Offline", 20000503)]
    // A set not sent to a server this frontend's view fenced, 115 ms behind another frontend's flush and readmission:
    // its delete was owed until the view showed the server up, and a blip then cut the frontend from every server for
    // 3.5 s, while a refill whose lease was taken before the set had stored the old value. The delete is now sent at
    // once to a server that answers the frontend's probes, and voids the lease (two-server world; found on 46a5ad6,
    // range 27000000, present on 56064c0; mutant 76).
    [InlineData("Offline", 27000913)]
    // The checker's own: a cancelled set's frontend, cut from two of three servers as it left, was cut from all three by
    // a blip before that partition healed; the checker judged the journal's debt by the partition alone, due while the
    // frontend was still cut off (found on 46a5ad6, range 24000000).
    [InlineData("Replicated", 24005874)]
    // Copies of a lost server's record at one epoch: two with another frontend's fence, one with a lost-record
    // recovery's verdict. The read's merge took whichever replica answered first, so the recovery found nothing lost
    // while every failback left the server to the recovery: held down for the whole settling time (found on 6ed4cf6,
    // range 30000000; mutant 77).
    [InlineData("Replicated", 30005059)]
    // A lost-record recovery read the server's record, then waited a second for a connect to it (the server had just
    // come out of a blackhole) before its flush went out; another frontend's fence landed in between, the readmission's
    // swap failed, and a later recovery flushed the server again for the same outage. The connection is now opened
    // before the record is read, and the flush goes only on it (found on f11021e, range 39000000; mutant 78).
    [InlineData("Gutter", 39004958)]
    // The checker's own: a lost-record recovery flushed two servers, then a frontend repaired their wiped copies with the
    // record read before the flush, 16 ms after it; the checker took that copy for a fence published after the flush
    // and the readmission for one without a flush. A fence is now dated by the first time its content was stored
    // (found on 52294ba, range 42000000).
    [InlineData("Offline", 42000070)]
    // An IDistributedCache set during an outage under Gutter, whose caller left during the delete owed on the key's own
    // server (sent at once, on a link held up by a blackhole): the gutter write was never sent, and another frontend's
    // refill, its lease taken before the set, had stored the older value there 0.3 ms before; it was served 1.01 s after
    // the set returned. The gutter entry is now invalidated (found on e7958dc, range 61000000, by the search for
    // mutant 69; mutant 84).
    [InlineData("Gutter", 61003979)]
    public void A_seed_found_with_batch_calls_replays_clean(string policy, int seed)
        => ReplaysClean(new SimulationOptions { Policy = Enum.Parse<FailoverPolicy>(policy), BatchRatio = 0.15 }, seed);

    /// <summary>
    /// A server blackholed, killed and restarted: frontend 0 had absorbed its timeouts without marking it down, opened a
    /// new connection after the restart and incremented a counter there, handing out 1 and 2 again, 160 ms before its
    /// view read the others' fence. The check of the server's start on that connection stops it (found with
    /// <c>--no-restart-check</c>, range 12000000). The seventh session's change of the failback's timing (the
    /// connection opened before the record is read) moved this world: without the check it no longer breaks, and
    /// 66,000 schedules of ranges 12000000-12025000 without the check found no other counter handed out twice. The
    /// check itself is pinned on real memcached (<c>RestartDetectionTests</c>, with its control); here the counter rule
    /// is shown to catch a value handed out twice, by adding to the seed's own history a second frontend's increment
    /// that got the same value in the same epoch.
    /// </summary>
    [Fact]
    public void A_counter_on_a_server_restarted_behind_a_timeout_is_not_handed_out_again()
    {
        var options = new SimulationOptions { Policy = FailoverPolicy.Gutter, BatchRatio = 0.15 };
        var history = ReplaysClean(options, 12004103).History;
        var homes = history.ServerRecords.Where(r => r.What == "ma" && r.Key is not null).GroupBy(r => r.Key!).ToDictionary(g => g.Key, g => g.First().Server);
        int HomeOf(string key) => homes[key];
        Assert.Empty(HistoryChecker.CounterDuplicates(history, HomeOf));

        var handedOut = history.Operations.Last(o => o.Kind == Ballast.Simulation.Workload.OperationKind.Increment && o.Hit);
        history.Operations.Add(handedOut with { Frontend = (handedOut.Frontend + 1) % 3, Start = handedOut.End, End = handedOut.End + 1 });
        Assert.Contains(HistoryChecker.CounterDuplicates(history, HomeOf), v => v.Rule == "counter-duplicate");
    }

    /// <summary>Seeds found in two-server worlds (<c>ballast sim --batch-ratio 0 --pool-size 2</c>).</summary>
    [Theory]
    // A caller-versioned set whose caller left while its compare-and-swap on one replica lost to a refill (its lease
    // taken before the set, later by the clock): no attempt followed and nothing invalidated the key there, so the
    // older value was served for a second (first found as replicated 1499 on a88fd2a, by the mutant search).
    [InlineData("Replicated", 2558)]
    public void A_seed_found_in_a_two_server_world_replays_clean(string policy, int seed)
        => ReplaysClean(MutantSeedTests.World(Enum.Parse<FailoverPolicy>(policy), 2), seed);

    private ScheduleResult ReplaysClean(SimulationOptions options, int seed)
    {
        var result = ScheduleRunner.Run(SchedulePlan.Create(seed, options), options);
        output.WriteLine(string.Join(Environment.NewLine, result.Violations.Select(v => v.ToString())));

        // The documented no-quorum case (a writer that could reach no majority, told by InvalidationOwedException) is
        // the promise's stated limit, not a break: a later change of the code may move a seed's schedule into it
        // (gutter 2003580 did, after the stores of callers who left were invalidated). Every other rule must hold.
        Assert.DoesNotContain(result.Violations, v => v.Rule != "stale-read-no-quorum");
        return result;
    }
}
