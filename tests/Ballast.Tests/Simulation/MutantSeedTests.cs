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
    // 02-view-lease: a frontend that read no majority of the view within B went on reading (gutter: a GetOrCreate run's
    // stale value; replicated: a stale read of the documented no-quorum kind on a seed the code keeps clean).
    [Theory]
    [InlineData("Gutter", 479, 0)]
    [InlineData("Replicated", 1890, 0)]
    public void A_frontend_reads_only_within_its_view_lease(string policy, int seed, int servers)
        => ReplaysClean(policy, seed, servers);

    // 03-read-quorum-one: a read of one replica trusted over a fence a majority holds.
    [Theory]
    [InlineData("Offline", 12, 0)]
    [InlineData("Gutter", 300, 0)]
    public void A_view_read_needs_a_majority_of_the_replicas(string policy, int seed, int servers)
        => ReplaysClean(policy, seed, servers);

    // 04-fence-before-quorum: a fence held by one replica reported as held.
    [Theory]
    [InlineData("Gutter", 852, 0)]
    [InlineData("Gutter", 1549, 0)]
    public void A_fence_counts_only_once_a_majority_holds_it(string policy, int seed, int servers)
        => ReplaysClean(policy, seed, servers);

    // 05-gutter-epoch: a gutter entry written in one outage served in the next.
    [Theory]
    [InlineData("Gutter", 743, 0)]
    [InlineData("Gutter", 1680, 0)]
    public void A_gutter_entry_is_served_only_in_its_own_outage(string policy, int seed, int servers)
        => ReplaysClean(policy, seed, servers);

    // 07-confirm-after-first-failure: an invalidation reported done after its first failed attempt.
    [Theory]
    [InlineData("Offline", 23, 0)]
    [InlineData("Gutter", 22, 0)]
    [InlineData("Replicated", 22, 0)]
    public void An_invalidation_is_done_only_once_confirmed_or_fenced(string policy, int seed, int servers)
        => ReplaysClean(policy, seed, servers);

    // 09-caller-cancels-invalidation: a caller's token cancelling the invalidation itself.
    [Theory]
    [InlineData("Offline", 59, 0)]
    [InlineData("Gutter", 273, 0)]
    public void A_caller_that_leaves_does_not_cancel_its_invalidation(string policy, int seed, int servers)
        => ReplaysClean(policy, seed, servers);

    // 13-failback-lock-on-returning-server: the failback lock kept where the returning server's flush wipes it.
    [Theory]
    [InlineData("Gutter", 1617, 0)]
    public void The_failback_lock_survives_the_returning_servers_flush(string policy, int seed, int servers)
        => ReplaysClean(policy, seed, servers);

    // 19-recovery-flushes-readmitted-server: a recovery flushing a server another recovery readmitted meanwhile.
    [Theory]
    [InlineData("Gutter", 199, 0)]
    [InlineData("Replicated", 199, 0)]
    public void A_recovery_does_not_flush_a_server_readmitted_while_it_waited(string policy, int seed, int servers)
        => ReplaysClean(policy, seed, servers);

    // 30-failback-ignores-hold: a failback that does not wait its hold time.
    [Theory]
    [InlineData("Gutter", 486, 0)]
    [InlineData("Gutter", 1457, 0)]
    public void A_failback_waits_its_hold_time(string policy, int seed, int servers)
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

    // 14-cancelled-caller-stays-in-run: a GetOrCreate caller that cancels leaves its run only through its token.
    [Theory]
    [InlineData("Gutter", 144, 0)]
    public void A_cancelled_caller_leaves_its_single_flight_run(string policy, int seed, int servers)
        => ReplaysClean(policy, seed, servers);

    // 15-lease-kept-after-factory-failure: GetOrCreate keeping its refill lease when its factory fails or is cancelled.
    [Theory]
    [InlineData("Gutter", 234, 0)]
    public void A_failed_factory_gives_its_lease_back(string policy, int seed, int servers)
        => ReplaysClean(policy, seed, servers);

    // 32-missing-record-trusted: a missing view record read as up at epoch 0 instead of lost.
    [Theory]
    [InlineData("Offline", 125, 0)]
    [InlineData("Gutter", 155, 0)]
    public void A_missing_view_record_is_lost_not_up(string policy, int seed, int servers)
        => ReplaysClean(policy, seed, servers);

    // 39-failback-flushes-before-fence-held: a frontend whose fence was not yet held by a write quorum for the bound B
    // flushed the server while others still counted on it; a counter user went on past the flush without being told.
    [Theory]
    [InlineData("Offline", 25, 0)]
    [InlineData("Gutter", 25, 0)]
    [InlineData("Replicated", 24, 0)]
    public void A_failback_flushes_only_after_its_fence_was_held_for_the_bound(string policy, int seed, int servers)
        => ReplaysClean(policy, seed, servers);

    // 41-two-replicas-need-full-quorum: in a pool of two servers (two view replicas), a record only one replica holds
    // (the other restarted or was flushed) read as lost, and a server was flushed by two frontends for one outage.
    // The mechanism's own test is Integrity.EdgeOfPromiseSmallPoolTests (an operator's flush of one witness).
    [Theory]
    [InlineData("Offline", 144, 2)]
    [InlineData("Gutter", 29, 2)]
    [InlineData("Replicated", 137, 2)]
    public void A_two_server_pool_vouches_for_a_record_its_other_replica_lost(string policy, int seed, int servers)
        => ReplaysClean(policy, seed, servers);

    // 40-witness-failbacks-unserialized: without the pool lock around a witness's failback (and the read before its
    // flush to put that replica's records back), two frontends flushed one server for one outage. The mechanism's own
    // test is Integrity.WitnessFailbackTests (real memcached); these seeds are the deterministic part of the kill.
    [Theory]
    [InlineData("Offline", 1575, 0)]
    [InlineData("Gutter", 1546, 0)]
    public void Witness_failbacks_flush_one_at_a_time(string policy, int seed, int servers)
        => ReplaysClean(policy, seed, servers);

    /// <summary>Runs <paramref name="seed"/> in the pinned world shape and requires no violation at all.</summary>
    /// <param name="policy">The failover policy.</param>
    /// <param name="seed">The seed.</param>
    /// <param name="servers">Main servers (2 or 3); 0: the seed draws 2 or 3.</param>
    private void ReplaysClean(string policy, int seed, int servers)
    {
        var options = World(Enum.Parse<FailoverPolicy>(policy), servers);
        var result = ScheduleRunner.Run(SchedulePlan.Create(seed, options), options);
        output.WriteLine(string.Join(Environment.NewLine, result.Violations.Select(v => v.ToString())));
        Assert.Empty(result.Violations);
    }

    /// <summary>The worlds these seeds were found in: <c>ballast sim</c>'s defaults of 2026-12-07 with batch calls off (<c>--batch-ratio 0</c>), every one written out.</summary>
    internal static SimulationOptions World(FailoverPolicy policy, int servers) => new()
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
        BatchRatio = 0,
        CaptureLogs = false,
    };
}
