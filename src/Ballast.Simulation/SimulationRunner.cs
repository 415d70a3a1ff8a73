using System.Diagnostics;
using System.Security.Cryptography;

namespace Ballast.Simulation;

/// <summary>What a run of many seeds found.</summary>
/// <param name="Policy">The policy.</param>
/// <param name="Schedules">Schedules run.</param>
/// <param name="VirtualSeconds">Virtual time simulated, summed over schedules.</param>
/// <param name="Violations">Violations found, summed.</param>
/// <param name="FailingSchedules">Schedules with at least one violation.</param>
/// <param name="FirstFailingSeed">The lowest failing seed; null when none failed.</param>
/// <param name="Rules">Failing schedules per rule.</param>
/// <param name="RuleSeeds">The first few failing seeds of each rule (to replay).</param>
/// <param name="WallSeconds">Real time the run took.</param>
/// <param name="Digest">SHA-256 over every schedule's history digest, in seed order: equal runs give equal digests.</param>
/// <param name="Leaks">Determinism leaks found, summed.</param>
/// <param name="FirstUnexplainedSeed">The lowest seed with a violation no known break explains (see <see cref="Checking.KnownBreaks"/>).</param>
/// <param name="FailingSeeds">Every failing seed with the rules it broke, in seed order (to compare two runs seed by seed).</param>
internal sealed record RunSummary(
    FailoverPolicy Policy,
    int Schedules,
    double VirtualSeconds,
    long Violations,
    int FailingSchedules,
    int? FirstFailingSeed,
    IReadOnlyDictionary<string, int> Rules,
    IReadOnlyDictionary<string, IReadOnlyList<int>> RuleSeeds,
    double WallSeconds,
    string Digest,
    int Leaks,
    int? FirstUnexplainedSeed,
    IReadOnlyDictionary<int, IReadOnlyList<string>> FailingSeeds)
{
    public double SchedulesPerSecond => WallSeconds > 0 ? Schedules / WallSeconds : 0;
}

/// <summary>Runs consecutive seeds on several simulation threads and sums up what they found.</summary>
internal static class SimulationRunner
{
    /// <param name="options">The worlds' shape (and policy).</param>
    /// <param name="firstSeed">The first seed; seeds run are firstSeed .. firstSeed + count - 1.</param>
    /// <param name="count">How many.</param>
    /// <param name="threads">Simulation threads (one world each at a time).</param>
    /// <param name="progress">Told of every finished schedule (from simulation threads).</param>
    public static RunSummary Run(SimulationOptions options, int firstSeed, int count, int threads, Action<ScheduleResult>? progress = null)
    {
        var digests = new byte[count][];
        var next = -1;
        long virtualTicks = 0, violations = 0;
        int failing = 0, leaks = 0;
        var firstFailing = int.MaxValue;
        var firstUnexplained = int.MaxValue;
        var rules = new Dictionary<string, int>(StringComparer.Ordinal);
        var ruleSeeds = new Dictionary<string, SortedSet<int>>(StringComparer.Ordinal);
        var failingSeeds = new SortedDictionary<int, IReadOnlyList<string>>();
        var gate = new Lock();
        Exception? crash = null;
        var watch = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, Math.Max(1, threads)).Select(_ => ScheduleRunner.StartThread(() =>
        {
            try
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < count && Volatile.Read(ref crash) is null)
                {
                    var seed = firstSeed + i;
                    var result = new World(SchedulePlan.Create(seed, options), options).Run();
                    digests[i] = Convert.FromHexString(result.Digest);
                    lock (gate)
                    {
                        virtualTicks += result.VirtualTicks;
                        violations += result.Violations.Count;
                        leaks += result.Leaks.Count;
                        if (result.Failed)
                        {
                            failing++;
                            firstFailing = Math.Min(firstFailing, seed);
                            if (result.Violations.Any(v => Checking.KnownBreaks.Explain(result.Plan, v) is null))
                            {
                                firstUnexplained = Math.Min(firstUnexplained, seed);
                            }

                            failingSeeds[seed] = [.. result.Violations.Select(v => v.Rule).Distinct().Order(StringComparer.Ordinal)];
                            foreach (var rule in result.Violations.Select(v => v.Rule).Distinct())
                            {
                                rules[rule] = rules.GetValueOrDefault(rule) + 1;
                                var seeds = ruleSeeds.TryGetValue(rule, out var known) ? known : ruleSeeds[rule] = [];
                                seeds.Add(seed);
                            }
                        }
                    }

                    progress?.Invoke(result);
                }
            }
#pragma warning disable CA1031 // Reported to the caller below, with the seed.
            catch (Exception error)
#pragma warning restore CA1031
            {
                Interlocked.CompareExchange(ref crash, error, null);
            }
        })).ToArray();
        foreach (var worker in workers)
        {
            worker.Join();
        }

        if (crash is not null)
        {
            throw new InvalidOperationException($"A simulated world crashed: {crash.Message}", crash);
        }

        watch.Stop();
        using var all = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var digest in digests)
        {
            all.AppendData(digest);
        }

        var firstSeeds = ruleSeeds.ToDictionary(r => r.Key, r => (IReadOnlyList<int>)[.. r.Value.Take(5)], StringComparer.Ordinal);
        return new RunSummary(options.Policy, count, virtualTicks / (double)TimeSpan.TicksPerSecond, violations, failing, failing > 0 ? firstFailing : null, rules, firstSeeds, watch.Elapsed.TotalSeconds, Convert.ToHexString(all.GetHashAndReset()), leaks, firstUnexplained < int.MaxValue ? firstUnexplained : null, failingSeeds);
    }
}
