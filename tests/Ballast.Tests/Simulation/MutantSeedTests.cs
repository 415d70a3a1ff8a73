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
    // 39-failback-flushes-before-fence-held: a frontend whose fence was not yet held by a write quorum for the bound B
    // flushed the server while others still counted on it; a counter user went on past the flush without being told.
    [Theory]
    [InlineData("Offline", 25, 0)]
    [InlineData("Gutter", 25, 0)]
    [InlineData("Replicated", 24, 0)]
    public void A_failback_flushes_only_after_its_fence_was_held_for_the_bound(string policy, int seed, int servers)
        => ReplaysClean(policy, seed, servers);

    // 41-two-replicas-need-full-quorum: in a pool of two servers (two view replicas), a record the other replica lost
    // (a witness restarted or flushed) read as lost; two frontends' recoveries flushed one server for one outage.
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

    /// <summary>The worlds these seeds were found in: <c>ballast sim</c>'s defaults of 2026-12-07, every one written out.</summary>
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
        CaptureLogs = false,
    };
}
