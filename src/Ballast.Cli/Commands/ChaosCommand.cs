using System.CommandLine;
using System.Globalization;
using Ballast.Cli.Chaos;
using Spectre.Console;

namespace Ballast.Cli.Commands;

/// <summary><c>ballast chaos</c>: measures stale reads per failover policy under injected faults, against real memcached servers.</summary>
public static class ChaosCommand
{
    /// <summary>
    /// Exit code when a policy that promises integrity broke it: stale reads beyond its bound, a counter value handed
    /// out twice, a server flushed twice for one outage or readmitted without a flush, or a pool that did not settle.
    /// </summary>
    public const int IntegrityViolated = ExitCodes.CheckFailed;

    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var policy = new Option<string>("--policy") { Description = "Policies to run, comma-separated: rehash, offline, gutter, replicated.", DefaultValueFactory = _ => "rehash,offline,gutter,replicated" };
        var faults = new Option<string>("--faults") { Description = "Faults to inject, comma-separated: kill, pause, blackhole, partition, slow, flap, lag (one frontend's links slowed below the timeout), blip (one frontend loses every link), restart (a server restarted while a refill lease of it is out), stall (one frontend's timers held: its background loop and view reads run late).", DefaultValueFactory = _ => "kill,pause,blackhole,partition" };
        // "--start-servers", as bench names its count: --servers is a server list in every command.
        var servers = new Option<int>("--start-servers") { Description = "How many memcached servers to start (main servers of the pool).", DefaultValueFactory = _ => 3 };
        var frontends = new Option<int>("--frontends") { Description = "Frontends, each its own client and proxies.", DefaultValueFactory = _ => 3 };
        var workers = new Option<int>("--workers") { Description = "Workers per frontend.", DefaultValueFactory = _ => 4 };
        var duration = new Option<string>("--duration") { Description = "Run length per policy (30s, 1500ms, 2m).", DefaultValueFactory = _ => "30s" };
        var seed = new Option<int>("--seed") { Description = "Seeds the fault schedule and the workload.", DefaultValueFactory = _ => 1 };
        var keys = new Option<int>("--keys") { Description = "Distinct keys (Zipf, s=1).", DefaultValueFactory = _ => 100 };
        var readRatio = new Option<double>("--read-ratio") { Description = "Fraction of reads.", DefaultValueFactory = _ => 0.9 };
        var cancelRatio = new Option<double>("--cancel-ratio") { Description = "Fraction of deletes, sets and refills cancelled mid-flight (0-40 ms in).", DefaultValueFactory = _ => 0 };
        var touchRatio = new Option<double>("--touch-ratio") { Description = "Fraction of reads made with get-and-touch (misses also touch).", DefaultValueFactory = _ => 0 };
        var counterRatio = new Option<double>("--counter-ratio") { Description = "Fraction of operations that increment counters (checked: no value twice per server epoch).", DefaultValueFactory = _ => 0 };
        var factoryDelay = new Option<string>("--factory-delay") { Description = "With --api-mix: how long a GetOrCreate factory takes after reading the database (e.g. 2500ms; slower than the bound lets the database change under it).", DefaultValueFactory = _ => "0s" };
        var distributedCacheRatio = new Option<double>("--distributed-cache-ratio") { Description = "Fraction of operations made through IDistributedCache (BallastDistributedCache): get, refresh, set and remove of sliding entries on keys of their own.", DefaultValueFactory = _ => 0 };
        var lag = new Option<string>("--lag") { Description = "The lag fault's latency each way (the operation timeout is raised above twice it).", DefaultValueFactory = _ => "400ms" };
        var apiMix = new Option<bool>("--api-mix") { Description = "Reads rotate over every read API (leased get, get-and-touch, get-many, get into a buffer, GetOrCreate) and writes over delete, mark-stale and a write-through SetVersionedAsync; a share of operations (--batch-ratio) are batch calls." };
        var batchRatio = new Option<double>("--batch-ratio") { Description = "With --api-mix: fraction of operations that are batch calls of 2-5 keys (GetManyAsync, DeleteManyAsync, and SetManyAsync when there are no PHP frontends), each key checked.", DefaultValueFactory = _ => 0.2 };
        var json = new Option<bool>("--json") { Description = "Print a JSON array, one object per policy." };
        var view = new Option<string>("--view") { Description = "Where the shared view lives: memcached (witness servers of the pool) or etcd.", DefaultValueFactory = _ => "memcached" };
        var etcdEndpoints = new Option<string?>("--etcd-endpoints") { Description = "With --view etcd: etcd endpoints (http://host:port,...); when omitted, an etcd is started on a free loopback port and stopped after the run." };
        var phpFrontends = new Option<int>("--php-frontends") { Description = "PHP frontends (php-cli workers) on the same workload, through the PHP bridge (php/ballast.php); their reads are checked too.", DefaultValueFactory = _ => 0 };
        var phpBare = new Option<bool>("--php-bare") { Description = "PHP frontends use bare php-memcache with its default failover (the control), not the bridge." };
        var phpExtension = new Option<string>("--php-extension") { Description = "The PHP frontends' extension: memcache (pecl-consistent placement) or memcached (ketama).", DefaultValueFactory = _ => "memcache" };
        var report = new Option<string?>("--report") { Description = "Write a self-contained HTML timeline to this file." };
        var command = new Command("chaos", "Measures stale reads per failover policy under injected faults (kill, pause, blackhole, partition, slow, flap, lag, blip, restart, stall) against real memcached servers.")
        {
            policy, faults, servers, frontends, workers, duration, seed, keys, readRatio, cancelRatio, touchRatio, counterRatio, apiMix, json, report, view, etcdEndpoints,
            phpFrontends, phpBare, phpExtension, factoryDelay, distributedCacheRatio, lag, batchRatio,
        };
        command.SetAction(async (parse, ct) =>
        {
            if (parse.GetResult("--servers") is System.CommandLine.Parsing.OptionResult { Implicit: false })
            {
                throw new CliException(ExitCodes.Usage, "chaos starts its own servers: give their number with --start-servers N (--servers is a server list, host:port,..., in every command).");
            }

            ChaosOptions options;
            try
            {
                options = new ChaosOptions
                {
                    Policies = ChaosNames.ParsePolicies(parse.GetValue(policy)!),
                    Faults = ChaosNames.ParseFaults(parse.GetValue(faults)!),
                    Servers = parse.GetValue(servers),
                    Frontends = parse.GetValue(frontends),
                    PhpFrontends = parse.GetValue(phpFrontends),
                    PhpBare = parse.GetValue(phpBare),
                    PhpExtension = parse.GetValue(phpExtension)!,
                    WorkersPerFrontend = parse.GetValue(workers),
                    Duration = ChaosNames.ParseDuration(parse.GetValue(duration)!, "--duration"),
                    Seed = parse.GetValue(seed),
                    Keys = parse.GetValue(keys),
                    ReadRatio = parse.GetValue(readRatio),
                    CancelRatio = parse.GetValue(cancelRatio),
                    TouchRatio = parse.GetValue(touchRatio),
                    CounterRatio = parse.GetValue(counterRatio),
                    ApiMix = parse.GetValue(apiMix),
                    BatchRatio = parse.GetValue(batchRatio),
                    FactoryDelay = ChaosNames.ParseDuration(parse.GetValue(factoryDelay)!, "--factory-delay"),
                    DistributedCacheRatio = parse.GetValue(distributedCacheRatio),
                    LagLatency = ChaosNames.ParseDuration(parse.GetValue(lag)!, "--lag"),
                    View = parse.GetValue(view) switch
                    {
                        "memcached" => SharedViewStoreKind.Memcached,
                        "etcd" => SharedViewStoreKind.Etcd,
                        var other => throw new ArgumentException($"The option --view must be memcached or etcd (got '{other}').", "--view"),
                    },
                    EtcdEndpoints = (parse.GetValue(etcdEndpoints) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                };
                options.Validate();
            }
            catch (ArgumentException e)
            {
                throw new CliException(ExitCodes.Usage, CliAction.WithoutParameterName(e));
            }

            return await RunAsync(options, parse.GetValue(json), parse.GetValue(report), narrate: false, ct).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>Runs the check with a progress bar on stderr, then prints the table (or JSON) and writes the report.</summary>
    public static async Task<int> RunAsync(ChaosOptions options, bool json, string? reportPath, bool narrate, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        var err = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        var runner = new ChaosRunner(options);
        if (!json)
        {
            err.MarkupLine($"[grey]Fault schedule (seed {options.Seed}), the same for every policy:[/]");
            foreach (var w in runner.Schedule.Windows)
            {
                err.MarkupLine("  [grey]" + Markup.Escape(FaultSchedule.Describe(w)) + "[/]");
            }

            if (options.EffectiveOperationTimeout != options.OperationTimeout)
            {
                err.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"The lag fault adds {options.LagLatency.TotalMilliseconds:0} ms each way, so the clients' operation timeout is {options.EffectiveOperationTimeout.TotalMilliseconds:0} ms (not {options.OperationTimeout.TotalMilliseconds:0}) to stay above it.")));
            }

            if (options.Policies.Contains(FailoverPolicy.Rehash))
            {
                err.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"Rehash runs with a {options.RehashRetryInterval.TotalSeconds:0.#} s retry interval (PECL's default is 15 s) so failed servers come back within the run.")));
            }
        }

        IReadOnlyList<PolicyResult> results;
        try
        {
            results = await err.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .StartAsync(async ctx =>
                {
                    var tasks = options.Policies.Select(p => ctx.AddTask(p.Name(), autoStart: false, maxValue: options.Duration.TotalSeconds)).ToArray();
                    var progress = new CallbackProgress<ChaosProgress>(p =>
                    {
                        var task = tasks[p.PolicyIndex];
                        if (!task.IsStarted)
                        {
                            task.StartTask();
                        }

                        var fault = p.ActiveFault is { } w ? $" [yellow]{w.Kind.Name()} s{w.Server}{(w.Frontend is { } f ? $"/f{f}" : string.Empty)}[/]" : string.Empty;
                        task.Description = $"{p.Policy.Name(),-10} {p.Operations,8:N0} ops{fault}";
                        task.Value = Math.Min(p.Elapsed.TotalSeconds, options.Duration.TotalSeconds);
                    });
                    return await runner.RunAsync(progress, ct).ConfigureAwait(false);
                }).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            err.MarkupLine("[yellow]Cancelled; servers stopped.[/]");
            return 130;
        }

        if (json)
        {
            Console.Out.WriteLine(ChaosReport.ToJson(results));
        }
        else
        {
            var stdout = AnsiConsole.Console;
            if (Console.IsOutputRedirected)
            {
                // Piped output has no terminal width; keep the table on one line per policy.
                stdout.Profile.Width = 160;
            }

            PrintTable(stdout, results);
            foreach (var r in results.Where(r => r.PhpReads > 0))
            {
                stdout.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"{r.Policy}: the PHP frontends ({(options.PhpBare ? "bare php-memcache" : "through the bridge")}) made {r.PhpReads:N0} of the reads, {r.PhpStaleReads:N0} stale, {r.PhpStaleBeyondBound:N0} beyond the bound.")));
            }
            foreach (var r in results.Where(r => r.StaleBeyondBound > 0))
            {
                var paths = string.Join(", ", r.StaleBeyondBoundByPath.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Key} {p.Value:N0} of {r.ReadsByPath.GetValueOrDefault(p.Key):N0}")));
                stdout.MarkupLine(Markup.Escape($"{r.Policy}: reads stale beyond the bound by path: {paths}."));
            }

            foreach (var r in results.Where(r => r.RestartLeasesTaken > 0))
            {
                stdout.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"{r.Policy}: {r.RestartLeasesTaken} refill leases outlived a restart of their server; {r.OldLeaseRefillsStored} of them still stored their value afterwards.")));
            }

            foreach (var r in results)
            {
                foreach (var miss in r.RestartLeaseMisses)
                {
                    stdout.MarkupLine(Markup.Escape($"{r.Policy}: no read after the {miss}"));
                }
            }

            foreach (var r in results.Where(r => r.AppErrors > 0))
            {
                var types = string.Join(", ", r.ErrorsByType.Select(e => string.Create(CultureInfo.InvariantCulture, $"{e.Value} {e.Key}")));
                var sample = r.ErrorSamples.Values.FirstOrDefault() ?? string.Empty;
                stdout.MarkupLine(Markup.Escape($"{r.Policy}: {types}. First: {sample}"));
            }
        }

        foreach (var line in results.Where(r => r.Violates).SelectMany(r => ChaosReport.ExplainViolations(r)))
        {
            err.MarkupLine("[red]" + Markup.Escape(line) + "[/]");
        }

        // Not a broken promise, but flushes an operator pays for in misses: more than one per fault that touched a server.
        foreach (var line in results.Where(r => r.PromisesIntegrity).SelectMany(r => ChaosReport.ExplainExcessFlushes(r, 3)))
        {
            err.MarkupLine("[yellow]" + Markup.Escape(line) + "[/]");
        }

        if (reportPath is not null)
        {
            var full = Path.GetFullPath(reportPath);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            await File.WriteAllTextAsync(full, ChaosReportHtml.Render(results, options, runner.Schedule), CancellationToken.None).ConfigureAwait(false);
            err.MarkupLine($"Report: [link]{Markup.Escape(full)}[/]");
        }

        var violated = results.Where(r => r.Violates).Select(r => r.Policy).ToArray();
        if (violated.Length > 0)
        {
            err.MarkupLine($"[red]The promise broke under {Markup.Escape(string.Join(", ", violated))} (stale reads beyond the bound, counter values handed out twice, a server flushed twice for one outage or readmitted without a flush, or a pool that did not settle).[/]");
            return IntegrityViolated;
        }

        if (narrate)
        {
            var rehash = results.FirstOrDefault(r => r.Policy == FailoverPolicy.Rehash.Name());
            if (rehash is not null)
            {
                AnsiConsole.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"Rehash (PECL's default) served {rehash.StaleReads} stale reads, up to {rehash.MaxStalenessMs / 1000:0.0} s old.")));
            }

            var safe = results.Where(r => r.PromisesIntegrity).Select(r => r.Policy).ToArray();
            if (safe.Length > 0)
            {
                AnsiConsole.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"{string.Join(", ", safe)}: no stale read beyond the {options.Bound.TotalMilliseconds:0} ms bound; a failure cost a database read instead.")));
            }
        }

        return 0;
    }

    /// <summary>The results table.</summary>
    public static void PrintTable(IAnsiConsole console, IReadOnlyList<PolicyResult> results)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(results);
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var column in new[] { "policy", "reads", "hits", "stale", "beyond B", "max stale ms", "db reads", "errors", "p50 ms", "p99 ms", "cancelled", "dup counters", "flushes", "settled" })
        {
            table.AddColumn(new TableColumn(column).RightAligned());
        }

        table.Columns[0].LeftAligned();
        foreach (var r in results)
        {
            var beyond = r.StaleBeyondBound.ToString(CultureInfo.InvariantCulture);
            beyond = !r.PromisesIntegrity ? beyond : r.StaleBeyondBound > 0 ? $"[red]{beyond}[/]" : $"[green]{beyond}[/]";
            table.AddRow(
                r.Policy,
                r.Reads.ToString("N0", CultureInfo.InvariantCulture),
                r.Hits.ToString("N0", CultureInfo.InvariantCulture),
                r.StaleReads.ToString("N0", CultureInfo.InvariantCulture),
                beyond,
                r.MaxStalenessMs.ToString("0", CultureInfo.InvariantCulture),
                r.DbReads.ToString("N0", CultureInfo.InvariantCulture),
                r.AppErrors.ToString("N0", CultureInfo.InvariantCulture),
                r.P50ReadMs.ToString("0.00", CultureInfo.InvariantCulture),
                r.P99ReadMs.ToString("0.00", CultureInfo.InvariantCulture),
                r.CancelledCalls.ToString("N0", CultureInfo.InvariantCulture),
                r.CounterDuplicates == 0 || !r.PromisesIntegrity ? r.CounterDuplicates.ToString("N0", CultureInfo.InvariantCulture) : $"[red]{r.CounterDuplicates}[/]",
                Flagged(r, FlushCell(r), r.RepeatedFlushes + r.UnflushedReadmissions > 0),
                Flagged(r, SettleCell(r), r.Settled == false));
        }

        console.Write(table);
    }

    /// <summary>
    /// The flushes column: memcached's flushes per server over the run, and what the flush checks found (servers flushed
    /// twice for one outage, readmissions no flush paid for).
    /// </summary>
    private static string FlushCell(PolicyResult r)
    {
        var counts = string.Join("/", r.FlushesPerServer.Select(n => n.ToString(CultureInfo.InvariantCulture)));
        var found = new List<string>();
        if (r.RepeatedFlushes > 0)
        {
            found.Add(string.Create(CultureInfo.InvariantCulture, $"{r.RepeatedFlushes} outages flushed twice"));
        }

        if (r.ExcessFlushes > 0)
        {
            found.Add(string.Create(CultureInfo.InvariantCulture, $"{r.ExcessFlushes} over one per fault"));
        }

        if (r.UnflushedReadmissions > 0)
        {
            found.Add(string.Create(CultureInfo.InvariantCulture, $"{r.UnflushedReadmissions} unflushed"));
        }

        return found.Count == 0 ? counts : $"{counts} ({string.Join(", ", found)})";
    }

    private static string SettleCell(PolicyResult r) => r.Settled switch
    {
        true => string.Create(CultureInfo.InvariantCulture, $"{r.SettleMs / 1000:0.0} s"),
        false => "no",
        null => "-",
    };

    /// <summary>Red when an integrity policy broke the rule; as it is otherwise (escaped for markup).</summary>
    private static string Flagged(PolicyResult r, string text, bool broken)
        => broken && r.PromisesIntegrity ? $"[red]{Markup.Escape(text)}[/]" : Markup.Escape(text);

    /// <summary>An <see cref="IProgress{T}"/> that calls back on the reporting thread (Progress&lt;T&gt; would need a synchronization context).</summary>
    private sealed class CallbackProgress<T>(Action<T> callback) : IProgress<T>
    {
        public void Report(T value) => callback(value);
    }
}
