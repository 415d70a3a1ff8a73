using Ballast.Simulation;

namespace Ballast.Tests.Simulation;

/// <summary>
/// Seeds on which the simulator shows a hand mutant (scripts/mutation/mutants) breaking the promise, found by running
/// <c>ballast sim --seed 1 --seeds N --list-failing</c> with the mutant applied and comparing with the code's run of the
/// same seeds (docs/testing.md, "Mutant → seeds until first violation"). Each seed replays clean on the code and
/// breaks a rule with its mutant, so these tests kill mutants whose first violation lies beyond the CI budget of
/// <see cref="SimulatorBudgetTests"/>. The worlds' shape is spelled out in full (<see cref="World"/>): a change of the
/// simulator's defaults must not change which world a seed draws here. A change of the client or the simulator may
/// still move a mutant's violation to other seeds; then this test passes with the mutant applied, the mutation check
/// reports it survived, and the seed is searched for again.
/// </summary>
public sealed class MutantSeedTests(ITestOutputHelper output)
{
    // 07-confirm-after-first-failure: an invalidation reported done after its first failed attempt.
    [Theory]
    [InlineData("Gutter", 22, 0)]
    [InlineData("Replicated", 22, 0)]
    public void An_invalidation_is_done_only_once_confirmed_or_fenced(string policy, int seed, int servers)
        => ReplaysClean(policy, seed, servers);

    // 43-unsent-write-not-invalidated: a write that was never sent left the old value readable.
    [Theory]
    [InlineData("Offline", 25, 0)]
    [InlineData("Gutter", 112, 0)]
    [InlineData("Replicated", 76, 0)]
    public void A_write_that_was_not_sent_is_an_invalidation(string policy, int seed, int servers)
        => ReplaysClean(policy, seed, servers);

    // 06-timeout-keeps-connection: a timed-out request failed alone, its connection left open (a late answer then
    // answered the next request on it).
    [Theory]
    [InlineData("Offline", 54, 0)]
    [InlineData("Gutter", 54, 0)]
    [InlineData("Replicated", 54, 0)]
    public void A_timed_out_request_closes_its_connection(string policy, int seed, int servers)
        => ReplaysClean(policy, seed, servers);

    // 32-missing-record-trusted: a missing view record read as up at epoch 0 instead of lost.
    [Theory]
    [InlineData("Offline", 125, 0)]
    [InlineData("Gutter", 155, 0)]
    public void A_missing_view_record_is_lost_not_up(string policy, int seed, int servers)
        => ReplaysClean(policy, seed, servers);

    // 02-view-lease: a frontend that read no majority of the view within B went on reading (a stale read of the
    // documented no-quorum kind, on a seed the code keeps clean). Found on the code after main's fixes of 2026-12-07.
    [Theory]
    [InlineData("Replicated", 113, 0)]
    public void A_frontend_reads_only_within_its_view_lease(string policy, int seed, int servers)
        => ReplaysClean(policy, seed, servers);

    // 09-caller-cancels-invalidation: a caller's token cancelling the invalidation itself (stale reads of the no-quorum
    // kind on seeds the code keeps clean). Found on the code after main's fixes of 2026-12-07.
    [Theory]
    [InlineData("Offline", 104, 0)]
    [InlineData("Offline", 112, 0)]
    public void A_caller_that_leaves_does_not_cancel_its_invalidation(string policy, int seed, int servers)
        => ReplaysClean(policy, seed, servers);

    // 57-locks-not-rechecked-before-flush: a recovery that flushed without taking its pool lock once more; another
    // frontend had taken a copy that vanished meanwhile (found on the code of 2026-12-07's second session).
    [Theory]
    // Offline 621, Gutter 1055 and Replicated 600 (`stale-read-no-quorum` with the mutant: a schedule the removed check
    // tips into the no-quorum case) were found on the code of 2026-12-07's eighth session, after operations began to
    // wait for a late view read and the two seeds above moved.
    [InlineData("Gutter", 21471, 0)]
    [InlineData("Gutter", 22021, 0)]
    [InlineData("Offline", 621, 0)]
    [InlineData("Gutter", 1055, 0)]
    [InlineData("Replicated", 600, 0)]
    public void A_recovery_takes_its_lock_once_more_before_it_flushes(string policy, int seed, int servers)
        => ReplaysClean(policy, seed, servers);

    // 39-failback-flushes-before-fence-held: a frontend whose fence was not yet held by a write quorum for the bound B
    // flushed the server while others still counted on it; a counter user went on past the flush without being told.
    // (Gutter 25 left the list when operations began to wait for a late view read: its world now has a writer cut off
    // from every server, whose departed caller's delete could neither land nor be fenced, the stale-read-no-quorum limit.)
    [Theory]
    [InlineData("Offline", 25, 0)]
    [InlineData("Replicated", 24, 0)]
    public void A_failback_flushes_only_after_its_fence_was_held_for_the_bound(string policy, int seed, int servers)
        => ReplaysClean(policy, seed, servers);

    // 53-lock-put-back-with-set: a recovery put its pool lock back after its own flush with a set, over the copies
    // another frontend had taken in between: two holders, and a server flushed twice for one outage (double-flush) or
    // readmitted with no flush since its outage began. Found on a88fd2a (WitnessAndLockTests pins the put-back itself).
    [Theory]
    [InlineData("Offline", 3202, 0)]
    [InlineData("Offline", 3979, 0)]
    [InlineData("Gutter", 2204, 0)]
    [InlineData("Replicated", 3202, 0)]
    public void A_lock_put_back_after_a_flush_never_overwrites_another_holders_copy(string policy, int seed, int servers)
        => ReplaysClean(policy, seed, servers);

    // 55-swap-fails-on-repaired-record: a readmission's compare-and-swap failed where another frontend had rewritten
    // the very record it snapshotted, unchanged; the server was left unreadmitted and flushed a second time for one
    // outage (double-flush). Found on a88fd2a.
    [Theory]
    [InlineData("Offline", 69, 0)]
    [InlineData("Offline", 9590, 0)]
    [InlineData("Offline", 4229, 0)]
    public void A_readmission_swaps_over_a_record_rewritten_unchanged(string policy, int seed, int servers)
        => ReplaysClean(policy, seed, servers);

    // 58-touch-takes-over-lost-fence: a touch of a lost record's fence took its writer over from "lost", so the fence was
    // no longer the recovery's to flush, and the server was flushed twice for one outage (found on the code of
    // 2026-12-07's eighth session, `--batch-ratio 0 --seed 301 --seeds 1200`).
    [Theory]
    [InlineData("Replicated", 549, 0)]
    public void A_touch_of_a_lost_records_fence_leaves_it_the_recoverys(string policy, int seed, int servers)
        => ReplaysClean(policy, seed, servers);

    // 59-gutter-before-fence-settled: the gutter served an outage before its fence had been held for the bound (others
    // may still write the key's server then): a gutter entry older than another frontend's set was served 1.2 s after
    // that set returned (stale-read). Found on a88fd2a.
    [Theory]
    [InlineData("Gutter", 258, 0)]
    public void The_gutter_serves_an_outage_only_once_its_fence_was_held_for_the_bound(string policy, int seed, int servers)
        => ReplaysClean(policy, seed, servers);

    // 59-gutter-before-fence-settled and 78-flush-waits-for-connect, pinned again on the code of 2026-12-07's eighth
    // session, after operations began to wait for a late view read and their seeds' worlds moved: found with each mutant
    // in the CLI's default world (batch calls on), range 49000000; with the mutant `stale-read-no-quorum` (a schedule the
    // removed mechanism tips into the no-quorum case), clean on the code.
    [Theory]
    [InlineData("Gutter", 49001609)]
    public void The_gutter_serves_an_outage_only_once_its_fence_was_held_for_the_bound_with_batch_calls(string policy, int seed)
        => ReplaysClean(policy, seed, 0, batchRatio: 0.15);

    [Theory]
    [InlineData("Gutter", 49000101)]
    [InlineData("Gutter", 49000284)]
    public void A_flush_goes_out_on_a_connection_opened_before_the_record_was_read(string policy, int seed)
        => ReplaysClean(policy, seed, 0, batchRatio: 0.15);

    /// <summary>Runs <paramref name="seed"/> in the pinned world shape and requires no violation at all.</summary>
    /// <param name="policy">The failover policy.</param>
    /// <param name="seed">The seed.</param>
    /// <param name="servers">Main servers (2 or 3); 0: the seed draws 2 or 3.</param>
    /// <param name="batchRatio">The share of batch calls (0: the worlds of <c>--batch-ratio 0</c>; 0.15: the CLI's default).</param>
    private void ReplaysClean(string policy, int seed, int servers, double batchRatio = 0)
    {
        var options = World(Enum.Parse<FailoverPolicy>(policy), servers, batchRatio);
        var result = ScheduleRunner.Run(SchedulePlan.Create(seed, options), options);
        output.WriteLine(string.Join(Environment.NewLine, result.Violations.Select(v => v.ToString())));
        Assert.Empty(result.Violations);
    }

    /// <summary>The worlds these seeds were found in: <c>ballast sim</c>'s defaults of 2026-12-07 with batch calls off (<c>--batch-ratio 0</c>), every one written out.</summary>
    internal static SimulationOptions World(FailoverPolicy policy, int servers, double batchRatio = 0) => new()
    {
        Policy = policy,
        MinServers = servers == 0 ? 2 : servers,
        MaxServers = servers == 0 ? 3 : servers,
        Frontends = 3,
        WorkersPerFrontend = 3,
        ActiveTime = TimeSpan.FromSeconds(6),
        MaxSettleTime = TimeSpan.FromSeconds(15),
        Bound = TimeSpan.FromSeconds(1),
        MaxFaults = 3,
        ThinkTime = TimeSpan.FromMilliseconds(60),
        DataKeys = 5,
        CounterKeys = 2,
        DistributedCacheKeys = 3,
        BatchRatio = batchRatio,
        CaptureLogs = false,
    };
}
