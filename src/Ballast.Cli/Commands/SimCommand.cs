using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Ballast.Cli.Chaos;
using Ballast.Simulation;

namespace Ballast.Cli.Commands;

/// <summary>
/// <c>ballast sim</c>: runs the production client, several frontends of it, against simulated memcached servers,
/// network and clock, one deterministic world per seed, and checks every world's history (see Ballast.Simulation).
/// </summary>
public static class SimCommand
{
    /// <summary>Exit code when a policy that promises integrity broke a rule in some seed.</summary>
    public const int IntegrityViolated = 2;

    /// <summary>
    /// The share of batch calls <c>ballast sim</c> draws unless told otherwise (<c>--batch-ratio</c>). The library's
    /// <see cref="SimulationOptions.BatchRatio"/> defaults to 0, so the tests' pinned seeds keep their schedules.
    /// </summary>
    public const double DefaultBatchRatio = 0.15;

    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var seeds = new Option<int>("--seeds") { Description = "Schedules (seeds) per policy.", DefaultValueFactory = _ => 100 };
        var seed = new Option<int>("--seed") { Description = "The first seed; seeds run are S, S+1, ...", DefaultValueFactory = _ => 1 };
        var policy = new Option<string>("--policy") { Description = "Policies, comma-separated: rehash, offline, gutter, replicated.", DefaultValueFactory = _ => "offline,gutter,replicated" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object: per policy, schedules run, virtual seconds, violations, the first failing seed, schedules per second and the run's digest." };
        var replay = new Option<int?>("--replay") { Description = "Run this one seed (with --trace, print its history)." };
        var trace = new Option<bool>("--trace") { Description = "With --replay: print the whole history of the seed." };
        var traceKey = new Option<string?>("--trace-key") { Description = "With --replay --trace: also print every command on this key at the servers, with the values stored and read." };
        var traceView = new Option<bool>("--trace-view") { Description = "With --replay --trace: also print every command on the view's records and locks, with the values stored and read." };
        var threads = new Option<int>("--threads") { Description = "Simulation threads (one world each at a time). Default: the processor count.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var shrink = new Option<bool>("--no-shrink") { Description = "Do not shrink the first failing seed's schedule before printing it." };
        var poolSize = new Option<int?>("--pool-size") { Description = "Main servers in every world (2 or 3; default: each seed draws 2 or 3). Changes every seed's world." };
        var listFailing = new Option<bool>("--list-failing") { Description = "List every failing seed with the rules it broke (JSON: failingSeeds), to compare two runs seed by seed." };
        var batchRatio = new Option<double>("--batch-ratio")
        {
            Description = "The share of operations that are batch calls (GetManyAsync, SetManyAsync, DeleteManyAsync of several keys), 0 to 1. 0 draws the schedules of before batch calls existed (seeds found then replay only with it).",
            DefaultValueFactory = _ => DefaultBatchRatio,
        };
        var noRestartCheck = new Option<bool>("--no-restart-check") { Description = "A control: the frontends do not check a new connection's server start (FailureDetection.DetectRestarts off), to show what the check prevents." };
        var command = new Command("sim", "Runs the real client (several frontends) against simulated memcached servers, network and clock: one reproducible world per seed, each checked for stale reads beyond the bound, counters handed out twice, double flushes, readmissions without a flush and worlds that do not settle.")
        {
            seeds, seed, policy, json, replay, trace, traceView, traceKey, threads, shrink, batchRatio, poolSize, listFailing, noRestartCheck,
        };
        command.SetAction((parse, ct) =>
        {
            IReadOnlyList<FailoverPolicy> policies;
            try
            {
                policies = ChaosNames.ParsePolicies(parse.GetValue(policy)!);
                if (parse.GetValue(seeds) < 1 || parse.GetValue(threads) < 1)
                {
                    throw new ArgumentException("The options --seeds and --threads must be at least 1.");
                }

                if (parse.GetValue(batchRatio) is not (>= 0 and <= 1))
                {
                    throw new ArgumentException("The option --batch-ratio must be from 0 to 1.");
                }

                if (parse.GetValue(poolSize) is { } n && n is < 2 or > 3)
                {
                    throw new ArgumentException("The option --pool-size must be 2 or 3.");
                }
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"ballast: {e.Message}");
                return Task.FromResult(1);
            }

            var shape = new SimulationOptions { BatchRatio = parse.GetValue(batchRatio), DetectRestarts = !parse.GetValue(noRestartCheck) };
            if (parse.GetValue(poolSize) is { } servers)
            {
                shape = shape with { MinServers = servers, MaxServers = servers };
            }
            if (parse.GetValue(replay) is { } one)
            {
                return Task.FromResult(Replay(shape, policies, one, parse.GetValue(trace), parse.GetValue(traceView), parse.GetValue(traceKey)));
            }

            return Task.FromResult(Run(shape, policies, parse.GetValue(seed), parse.GetValue(seeds), parse.GetValue(threads), parse.GetValue(json), !parse.GetValue(shrink), parse.GetValue(listFailing), ct));
        });
        return command;
    }

    private static int Run(SimulationOptions shape, IReadOnlyList<FailoverPolicy> policies, int firstSeed, int count, int threads, bool json, bool shrink, bool listFailing, CancellationToken ct)
    {
        var exceptions = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        if (Environment.GetEnvironmentVariable("SIM_EXC") == "1")
        {
            AppDomain.CurrentDomain.FirstChanceException += (_, e) => exceptions.AddOrUpdate(e.Exception.GetType().Name + " " + e.Exception.TargetSite?.DeclaringType?.Name + "." + e.Exception.TargetSite?.Name, 1, (_, n) => n + 1);
        }

        try
        {
            return RunCore(shape, policies, firstSeed, count, threads, json, shrink, listFailing, ct);
        }
        finally
        {
            foreach (var (k, v) in exceptions.OrderByDescending(p => p.Value).Take(15))
            {
                Console.Error.WriteLine($"{v,8} {k}");
            }
        }
    }

    private static int RunCore(SimulationOptions shape, IReadOnlyList<FailoverPolicy> policies, int firstSeed, int count, int threads, bool json, bool shrink, bool listFailing, CancellationToken ct)
    {
        var summaries = new List<RunSummary>();
        var violated = false;
        foreach (var policy in policies)
        {
            ct.ThrowIfCancellationRequested();
            var options = shape with { Policy = policy };
            var summary = SimulationRunner.Run(options, firstSeed, count, threads);
            summaries.Add(summary);
            violated |= summary.FailingSchedules > 0 && policy != FailoverPolicy.Rehash;
            if (!json)
            {
                Console.WriteLine(Describe(summary));
                if (listFailing)
                {
                    foreach (var (failingSeed, rules) in summary.FailingSeeds)
                    {
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  failing seed {failingSeed}: {string.Join(", ", rules)}"));
                    }
                }

                if (summary.FirstFailingSeed is { } failing)
                {
                    PrintFailure(options, failing, shrink);
                }
            }
        }

        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                policies = summaries.Select(s => new
                {
                    policy = s.Policy.ToString().ToLowerInvariant(),
                    batchRatio = shape.BatchRatio,
                    schedules = s.Schedules,
                    virtualSeconds = Math.Round(s.VirtualSeconds, 3),
                    violations = s.Violations,
                    failingSchedules = s.FailingSchedules,
                    firstFailingSeed = s.FirstFailingSeed,
                    firstUnexplainedSeed = s.FirstUnexplainedSeed,
                    rules = s.Rules,
                    ruleSeeds = s.RuleSeeds,
                    schedulesPerSecond = Math.Round(s.SchedulesPerSecond, 1),
                    wallSeconds = Math.Round(s.WallSeconds, 2),
                    determinismLeaks = s.Leaks,
                    digest = s.Digest,
                    failingSeeds = listFailing ? s.FailingSeeds.ToDictionary(f => f.Key.ToString(CultureInfo.InvariantCulture), f => f.Value) : null,
                }),
            }));
        }

        return violated ? IntegrityViolated : 0;
    }

    private static string Describe(RunSummary s)
        => string.Create(CultureInfo.InvariantCulture, $"{s.Policy.ToString().ToLowerInvariant(),-10} {s.Schedules} schedules, {s.VirtualSeconds:0} virtual s in {s.WallSeconds:0.0} s ({s.SchedulesPerSecond:0.0} schedules/s): {s.FailingSchedules} failing{(s.FirstFailingSeed is { } f ? $" (first: seed {f})" : string.Empty)}{(s.Rules.Count > 0 ? " [" + string.Join(", ", s.Rules.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => $"{r.Key} {r.Value}")) + "]" : string.Empty)}; digest {s.Digest[..16]}");

    private static void PrintFailure(SimulationOptions options, int seed, bool shrink)
    {
        var result = ScheduleRunner.Run(SchedulePlan.Create(seed, options), options);
        if (shrink && result.Failed)
        {
            result = Shrinker.Shrink(result, options);
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  seed {seed}{(shrink ? ", shrunk" : string.Empty)} to {result.Plan.Faults.Count} fault(s), {result.History.Operations.Count} operations:"));
        foreach (var fault in result.Plan.Faults)
        {
            Console.WriteLine($"    {fault}");
        }

        foreach (var violation in result.Violations.Take(5))
        {
            Console.WriteLine($"    {violation}");
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  replay: ballast sim --policy {options.Policy.ToString().ToLowerInvariant()} --batch-ratio {options.BatchRatio} --replay {seed} --trace"));
    }

    private static int Replay(SimulationOptions shape, IReadOnlyList<FailoverPolicy> policies, int seed, bool trace, bool traceView, string? traceKey)
    {
        var violated = false;
        foreach (var policy in policies)
        {
            var options = shape with { Policy = policy, CaptureLogs = trace, CaptureViewCommands = trace && traceView, TracedKey = trace ? traceKey : null };
            var result = ScheduleRunner.Run(SchedulePlan.Create(seed, options), options);
            violated |= result.Failed && policy != FailoverPolicy.Rehash;
            Console.WriteLine($"policy {policy.ToString().ToLowerInvariant()}:");
            Console.Write(trace ? TraceWriter.Write(result) : string.Join(Environment.NewLine, result.Violations.Select(v => v.ToString()).Append($"digest {result.Digest}")) + Environment.NewLine);
        }

        return violated ? IntegrityViolated : 0;
    }
}
