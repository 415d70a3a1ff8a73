using System.Diagnostics;
using System.Text.Json;
using Ballast.Simulation;
using Ballast.Simulation.Runtime;

namespace Ballast.Tests.Simulation;

/// <summary>
/// A seed is a world: run twice, in one process or in two, it gives the same history byte for byte (the SHA-256 of
/// every call, event, flush, counter value and fault, with the world's step count and final time). The worlds here are
/// small (1.5 s of faults and workload, at most 1 s to settle) so that 1,000 seeds run twice within the test budget.
/// </summary>
public sealed class DeterminismTests(ITestOutputHelper output)
{
    private static readonly SimulationOptions Small = new()
    {
        ActiveTime = TimeSpan.FromSeconds(1.5),
        MaxSettleTime = TimeSpan.FromSeconds(1),
        WorkersPerFrontend = 2,
        MaxFaults = 2,
    };

    [Fact]
    public void A_thousand_seeds_run_twice_give_the_same_histories()
    {
        var watch = Stopwatch.StartNew();
        var first = SimulationRunner.Run(Small, firstSeed: 1, count: 1000, threads: Environment.ProcessorCount);
        var second = SimulationRunner.Run(Small, firstSeed: 1, count: 1000, threads: Environment.ProcessorCount);
        output.WriteLine($"1,000 seeds twice in {watch.Elapsed.TotalSeconds:0.0} s; digest {first.Digest}; {first.VirtualSeconds:0} virtual s each time");
        Assert.Equal(0, first.Leaks + second.Leaks);
        Assert.Equal(first.Digest, second.Digest);
        Assert.Equal(first.Violations, second.Violations);

        // The digest depends on the seeds: another range of seeds is another history.
        var other = SimulationRunner.Run(Small, firstSeed: 2, count: 1000, threads: Environment.ProcessorCount);
        Assert.NotEqual(first.Digest, other.Digest);
    }

    [Fact]
    public async Task Two_processes_give_the_same_digest_for_the_same_seeds()
    {
        var first = await RunCliAsync();
        var second = await RunCliAsync();
        output.WriteLine($"ballast sim --json, twice: {first} / {second}");
        Assert.Equal(first, second);
    }

    [Fact]
    public void Work_that_leaves_the_loop_thread_is_reported_as_a_determinism_leak()
    {
        // The control: a hop to the thread pool, as Task.Run makes, is caught at the clock it reads.
        var leaks = ScheduleRunner.OnSimulationThread(() =>
        {
            var loop = new SimulationLoop(1);
            var clock = new VirtualClock(loop);
            loop.Post(() => Task.Run(() => clock.GetTimestamp()).Wait(), "test");
            loop.RunUntil(TimeSpan.TicksPerSecond);
            return loop.Leaks;
        });
        var leak = Assert.Single(leaks);
        Assert.Equal("TimeProvider.GetTimestamp", leak.EntryPoint);
    }

    [Fact]
    public void A_meter_listener_polling_from_its_own_thread_does_not_reach_into_simulated_clients()
    {
        // Tests run in parallel in one process, and some of them listen to every Ballast instrument: a listener that
        // polls the gauges (journal depth, view age) from its thread must not read a simulated client's virtual clock.
        // (With the simulated clients registered for the gauges, this run records thousands of leaks.)
        var seen = 0;
        long polls = 0;
        using var listener = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "Ballast")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, _, _, _) => { if (instrument.Name == "ballast.invalidation.journal.depth") { Interlocked.Increment(ref seen); } });
        listener.SetMeasurementEventCallback<double>((instrument, _, _, _) => { if (instrument.Name == "ballast.view.age") { Interlocked.Increment(ref seen); } });
        listener.Start();
        using var stop = new CancellationTokenSource();
        var poller = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                listener.RecordObservableInstruments();
                Interlocked.Increment(ref polls);
            }
        }) { IsBackground = true };
        poller.Start();

        var run = SimulationRunner.Run(Small, firstSeed: 1, count: 40, threads: 2);
        stop.Cancel();
        poller.Join();
        output.WriteLine($"{polls} polls, {seen} measurements of the gauges (from real clients only)");
        Assert.Equal(0, run.Leaks);
    }

    private static async Task<string> RunCliAsync()
    {
        var cli = typeof(Ballast.Cli.Commands.SimCommand).Assembly.Location;
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { cli, "sim", "--policy", "offline", "--seeds", "12", "--seed", "100", "--threads", "2", "--json" })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        var text = await stdout;
        Assert.True(text.TrimStart().StartsWith('{'), $"ballast sim --json printed no JSON: {text} {await stderr}");
        using var json = JsonDocument.Parse(text);
        return json.RootElement.GetProperty("policies")[0].GetProperty("digest").GetString()!;
    }
}
