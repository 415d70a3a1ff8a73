using System.CommandLine;
using Ballast.Cli.Chaos;
using Spectre.Console;

namespace Ballast.Cli.Commands;

/// <summary><c>ballast demo</c>: the seeds' failures, side by side under PECL's rehash and Ballast's policies.</summary>
public static class DemoCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var report = new Option<string>("--report") { Description = "Where to write the HTML timeline.", DefaultValueFactory = _ => Path.Combine("artifacts", "chaos-report.html") };
        var duration = new Option<string>("--duration") { Description = "Run length per policy.", DefaultValueFactory = _ => "24s" };
        var seed = new Option<int>("--seed") { Description = "Seeds the fault schedule and the workload.", DefaultValueFactory = _ => 1 };
        var command = new Command("demo", "Shows, in about two minutes against real memcached servers, the stale reads PECL's rehash serves when servers fail and frontends disagree, and that Ballast's policies serve none.")
        {
            report, duration, seed,
        };
        command.SetAction(async (parse, ct) =>
        {
            var options = new ChaosOptions
            {
                Policies = [FailoverPolicy.Rehash, FailoverPolicy.Offline, FailoverPolicy.Gutter, FailoverPolicy.Replicated],
                Faults = [FaultKind.Kill, FaultKind.Blackhole, FaultKind.Partition, FaultKind.Pause],
                Duration = ChaosNames.ParseDuration(parse.GetValue(duration)!, "--duration"),
                Seed = parse.GetValue(seed),
            };
            Narrate(options);
            return await ChaosCommand.RunAsync(options, json: false, parse.GetValue(report), narrate: true, ct).ConfigureAwait(false);
        });
        return command;
    }

    private static void Narrate(ChaosOptions options)
    {
        var c = AnsiConsole.Console;
        c.Write(new Rule("[bold]Ballast demo[/]").LeftJustified());
        c.MarkupLine("The problem, from two memcached mailing-list threads:");
        c.MarkupLine(" • [bold]PECL memcache rehashes[/] a dead server's keys to another server and moves them back when the server returns, without a flush: values written during one outage, or kept by a server that was merely cut off, are served [red]after the database has moved on[/].");
        c.MarkupLine(" • [bold]Frontends disagree[/]: when only one frontend loses a server, its deletes fail there while the other frontends keep reading the old value from it.");
        c.MarkupLine(Markup.Escape(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"Now: {options.Servers} real memcached servers and {options.Frontends} frontends (each its own client, each link through its own fault proxy) run a cache-aside workload (read; on a miss, database then leased refill; write: database then delete) under kill -9, blackhole (no frontend reaches a server), partition (one frontend does not) and SIGSTOP. Each policy runs {options.Duration.TotalSeconds:0} s with the same seed and fault schedule, and every read is checked against the database's history.")));
        c.WriteLine();
    }
}
