using Ballast.Extensions;
using Ballast.Runtime;
using Ballast.Simulation.Checking;
using Ballast.Simulation.Faults;
using Ballast.Simulation.Network;
using Ballast.Simulation.Runtime;
using Ballast.Simulation.Server;
using Ballast.Simulation.Workload;

namespace Ballast.Simulation;

/// <summary>
/// One simulated world: servers, network, clock and frontends (real <see cref="MemcachedClient"/>s with their
/// <see cref="BallastDistributedCache"/>s), built from a plan and run on the calling thread, which must be the one
/// thread of the world (see <see cref="ScheduleRunner"/>).
/// </summary>
internal sealed partial class World
{
    private static readonly long SettleCheck = 250 * TimeSpan.TicksPerMillisecond;
    private static readonly long SettledFor = 2 * TimeSpan.TicksPerSecond;

    private readonly SchedulePlan _plan;
    private readonly MemcachedClient[] _clients;
    private readonly List<Task> _workers = [];
    private readonly ServerEndPoint[] _endPoints;
    private readonly Dictionary<string, int> _homes = new(StringComparer.Ordinal);
    private long _settledSince = -1;

    public World(SchedulePlan plan, SimulationOptions options)
    {
        _plan = plan;
        Options = options;
        Loop = new SimulationLoop(plan.Seed);
        Clock = new VirtualClock(Loop);
        Scheduler = new LoopScheduler(Loop);
        History = new History();
        Database = new SimulatedDatabase(options.DataKeys + options.DistributedCacheKeys);
        var gutter = options.Policy == FailoverPolicy.Gutter ? 1 : 0;
        var total = plan.Servers + gutter;
        _endPoints = [.. Enumerable.Range(0, total).Select(i => new ServerEndPoint(i < plan.Servers ? $"s{i}" : $"g{i - plan.Servers}", 11211))];
        var processes = new ServerProcess[total];
        for (var i = 0; i < total; i++)
        {
            var memcached = new SimulatedMemcached(_endPoints[i].Host, () => Loop.Now, VirtualClock.UnixSecondsAt, 64L * 1024 * 1024);
            processes[i] = new ServerProcess(i, Loop, memcached, OnServed);
        }

        var links = new Link[options.Frontends, total];
        for (var f = 0; f < options.Frontends; f++)
        {
            for (var s = 0; s < total; s++)
            {
                links[f, s] = new Link(f, s, Loop.Random.NextInt64(50, 1_000) * 10, 0.1 + (Loop.Random.NextDouble() * 0.5))
                {
                    SlowLatencyTicks = Loop.Random.NextInt64(250, 450) * TimeSpan.TicksPerMillisecond,
                };
            }
        }

        Network = new SimulatedNetwork(Loop, links, processes);
        _clients = new MemcachedClient[options.Frontends];
    }

    public SimulationOptions Options { get; }

    public SimulationLoop Loop { get; }

    public VirtualClock Clock { get; }

    public LoopScheduler Scheduler { get; }

    public History History { get; }

    public SimulatedDatabase Database { get; }

    public SimulatedNetwork Network { get; }

    public long Now => Loop.Now;

    /// <summary>Set when the workers should stop after their current operation.</summary>
    public bool WorkloadStopped { get; private set; }

    /// <summary>When the last fault was lifted and every frontend had every server up again; -1 if it never settled.</summary>
    public long SettledAt { get; private set; } = -1;

    /// <summary>Runs the world to its end on the calling thread and checks its history.</summary>
    public ScheduleResult Run()
    {
        Loop.BindToCurrentThread();
        using var installed = WorkScheduler.Install(Scheduler);
        for (var i = 0; i < _endPoints.Length; i++)
        {
            Network.Server(i).Memcached.Start(Loop.Random.NextInt64(TimeSpan.TicksPerSecond));
        }

        for (var f = 0; f < Options.Frontends; f++)
        {
            _clients[f] = CreateFrontend(f);
        }

        for (var c = 0; c < Options.CounterKeys; c++)
        {
            var key = "c" + c.ToString(System.Globalization.CultureInfo.InvariantCulture);
            _homes[key] = ServerIndex(_clients[0].Locate(key).Host);
        }

        new FaultInjector(this).Schedule(_plan.Faults);
        var activeEnd = Options.ActiveTime.Ticks;
        Loop.RunUntil(activeEnd);

        // Settling: the workload goes on until every frontend has had every server up for a while.
        var settleEnd = activeEnd + Options.MaxSettleTime.Ticks;
        Loop.After(TimeSpan.FromTicks(SettleCheck), CheckSettled, "settle check");
        Loop.RunUntil(settleEnd, () => SettledAt >= 0);

        WorkloadStopped = true;
        var all = Task.WhenAll(_workers);
        Loop.RunUntil(Loop.Now + (10 * TimeSpan.TicksPerSecond), () => all.IsCompleted);
        var disposed = Task.WhenAll(_clients.Select(c => c.DisposeAsync().AsTask()));
        Loop.RunUntil(Loop.Now + (5 * TimeSpan.TicksPerSecond), () => disposed.IsCompleted);
        var violations = HistoryChecker.Check(History, Options, this);
        var digest = History.Finish(Loop.Steps, Loop.Now);
        return new ScheduleResult(_plan, violations, digest, Loop.Now, Loop.Steps, Loop.Leaks, SettledAt, History);
    }

    /// <summary>The index of a server by host name (<c>s0</c>..., then <c>g0</c>... for the gutter).</summary>
    public int ServerIndex(string host)
        => host[0] == 'g' ? _plan.Servers + int.Parse(host.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture) : int.Parse(host.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The server a key lives on when every server is up (the clients' own locator).</summary>
    public int HomeOf(string key) => _homes.TryGetValue(key, out var home) ? home : throw new ArgumentException($"No home recorded for key {key}.", nameof(key));

    public int MainServers => _plan.Servers;

    private MemcachedClient CreateFrontend(int frontend)
    {
        var options = new MemcachedClientOptions { FailoverPolicy = Options.Policy };
        for (var s = 0; s < _plan.Servers; s++)
        {
            options.Servers.Add(_endPoints[s]);
        }

        if (Options.Policy == FailoverPolicy.Gutter)
        {
            options.Gutter.Servers.Add(_endPoints[_plan.Servers]);
        }

        options.SharedView.Bound = Options.Bound;
        options.FailureDetection.DetectRestarts = Options.DetectRestarts;
        if (Options.CaptureLogs)
        {
            options.LoggerFactory = new FrontendLog(() => Loop.Now, frontend, History.Logs);
        }

        options.Runtime = new ClientRuntime
        {
            Transport = new SimulatedTransport(Network, frontend, ServerIndex),
            Random = Loop.Random,
            NewFrontendId = () => Loop.Random.Next().ToString("x8", System.Globalization.CultureInfo.InvariantCulture),
            ObservedByGauges = false,
        };
        var client = new MemcachedClient(options, Clock);
        client.ServerFailed += (_, e) => History.Add(new ClientEventRecord(frontend, ServerIndex(e.Host), (e.Time - VirtualClock.Epoch).Ticks, true, e.Epoch, false, $"{e.Reason}{(e.Detail is null ? string.Empty : ": " + e.Detail)}"));
        client.ServerRecovered += (_, e) => History.Add(new ClientEventRecord(frontend, ServerIndex(e.Host), (e.Time - VirtualClock.Epoch).Ticks, false, e.Epoch, e.FlushedByThisFrontend, e.FlushedByThisFrontend ? "recovered, flushed here" : "recovered"));
        client.ServerFlushed += (_, e) => History.Flushes.Add(new FlushEventRecord(frontend, ServerIndex(e.Server.Host), (e.Time - VirtualClock.Epoch).Ticks, e.Epoch, e.Reason));
        var cache = new BallastDistributedCache(client, new BallastDistributedCacheOptions(), Clock);
        for (var w = 0; w < Options.WorkersPerFrontend; w++)
        {
            var id = (frontend * Options.WorkersPerFrontend) + w;
            // Not HashCode.Combine: its seed is random per process, and a seed must mean the same world in any process.
            var source = new OperationSource(unchecked((_plan.Seed * 1_000_003) ^ (id * 7_919) ^ 0x5EED), Options);
            _workers.Add(new FrontendWorker(this, frontend, w, client, cache, source, _plan.MaxOperationsPerWorker, _plan.DroppedOperations).RunAsync());
        }

        return client;
    }

    private void OnServed(ServerProcess server, SimulatedConnection connection, ServedCommand command)
    {
        switch (command.Command)
        {
            case "flush_all":
                History.Add(new ServerRecord(server.Index, connection.Link.Frontend, Now, connection.LastSentAt, "flush_all", null, command.Number));
                break;
            case "ma" when command.Status is "VA" or "HD":
                History.Add(new ServerRecord(server.Index, connection.Link.Frontend, Now, connection.LastSentAt, "ma", command.Key, command.Number));
                break;
        }

        if (command.Key is not { } key || !(key.StartsWith("ballast:", StringComparison.Ordinal) || key == Options.TracedKey))
        {
            return;
        }

        if (command is { Command: "ms", Status: "HD", Value: { } stored } && ViewRecord(key, stored) is { } record)
        {
            if (record.IsDown)
            {
                var content = (record.Server, Convert.ToHexString(stored));
                History.FenceFirstWritten.TryAdd(content, Now);
                History.FencesWritten.Add((record.Server, record.Epoch, History.FenceFirstWritten[content]));
            }
            else
            {
                History.UpRecordsWritten.TryAdd((record.Server, record.Epoch), Now);
            }
        }

        if ((Options.CaptureViewCommands || key == Options.TracedKey) && command.Command is "ms" or "md" or "mg" or "ma")
        {
            var shown = command.Value is { } value ? System.Text.Encoding.ASCII.GetString(value) : string.Empty;
            History.Add(new ServerRecord(server.Index, connection.Link.Frontend, Now, connection.LastSentAt, $"{command.Command} {(key.StartsWith("ballast:", StringComparison.Ordinal) ? key[(key.IndexOf(':', 8) + 1)..] : key)} {command.Status} {shown}", null, 0));
        }
    }

    /// <summary>The server, epoch and state of a view record being stored (<c>ballast:pool:view:i</c> = <c>epoch U|D changed writer</c>), or null.</summary>
    private static (int Server, long Epoch, bool IsDown)? ViewRecord(string key, byte[] value)
    {
        const string marker = ":view:";
        var at = key.LastIndexOf(marker, StringComparison.Ordinal);
        var text = System.Text.Encoding.ASCII.GetString(value).Split(' ');
        return at >= 0 && text.Length == 4 && text[1] is "U" or "D"
            && int.TryParse(key.AsSpan(at + marker.Length), System.Globalization.CultureInfo.InvariantCulture, out var server)
            && long.TryParse(text[0], System.Globalization.CultureInfo.InvariantCulture, out var epoch)
            ? (server, epoch, text[1] == "D") : null;
    }

    private void CheckSettled()
    {
        var faultsOver = _plan.Faults.All(f => f.End <= Now);
        var allUp = faultsOver && _clients.All(c => (Options.Policy == FailoverPolicy.Rehash || c.IsSharedViewFresh)
            && _endPoints.Take(_plan.Servers).All(e => c.GetServerState(e) == ServerState.Up));
        if (!allUp)
        {
            _settledSince = -1;
        }
        else if (_settledSince < 0)
        {
            _settledSince = Now;
        }
        else if (Now - _settledSince >= SettledFor)
        {
            SettledAt = _settledSince;
            return;
        }

        Loop.After(TimeSpan.FromTicks(SettleCheck), CheckSettled, "settle check");
    }
}
