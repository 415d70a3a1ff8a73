using Ballast.Simulation.Checking;
using Ballast.Simulation.Network;

namespace Ballast.Simulation.Faults;

/// <summary>Applies the faults of a plan to the simulated network and processes at their times, and lifts them.</summary>
internal sealed class FaultInjector(World world)
{
    private readonly Dictionary<int, int> _blackholes = [];

    // Link faults are counted per link and per kind, so overlapping faults lift in any order.
    private readonly Dictionary<(int Frontend, int Server, FaultKind Kind, int Direction), int> _active = [];

    public void Schedule(IEnumerable<PlannedFault> faults)
    {
        foreach (var fault in faults)
        {
            world.Loop.At(fault.Start, static s => s.Injector.Apply(s.Fault), (Injector: this, Fault: fault), "fault");
            if (fault.End > fault.Start)
            {
                world.Loop.At(fault.End, static s => s.Injector.Lift(s.Fault), (Injector: this, Fault: fault), "fault");
            }
        }
    }

    private void Apply(PlannedFault fault)
    {
        world.History.Add(new FaultRecord(fault, world.Now, Lifted: false));
        var network = world.Network;
        var process = network.Server(fault.Server);
        switch (fault.Kind)
        {
            case FaultKind.Kill:
                process.Kill();
                world.History.Add(new ServerRecord(fault.Server, -1, world.Now, world.Now, "kill", null, 0));
                break;
            case FaultKind.Pause:
                process.Pause();
                break;
            case FaultKind.Blackhole:
                _blackholes[fault.Server] = _blackholes.GetValueOrDefault(fault.Server) + 1;
                Refresh(fault.Server);
                break;
            case FaultKind.Partition or FaultKind.OneWayPartition or FaultKind.Slow or FaultKind.Reset:
                Hold(fault.Frontend, fault.Server, fault, +1);
                break;
            case FaultKind.Blip:
                for (var s = 0; s < network.ServerCount; s++)
                {
                    Hold(fault.Frontend, s, fault with { Kind = FaultKind.Partition, Server = s }, +1);
                }

                break;
            case FaultKind.OperatorFlush:
                process.Memcached.FlushAll(0);
                world.History.Add(new ServerRecord(fault.Server, -1, world.Now, world.Now, "operator flush", null, 0));
                break;
            case FaultKind.Evict:
                var evicted = process.Memcached.EvictLeastRecentlyUsed(Math.Max(1, process.Memcached.ItemCount / 2));
                world.History.Add(new ServerRecord(fault.Server, -1, world.Now, world.Now, "evict", null, (ulong)evicted));
                break;
        }
    }

    private void Lift(PlannedFault fault)
    {
        world.History.Add(new FaultRecord(fault, world.Now, Lifted: true));
        var network = world.Network;
        var process = network.Server(fault.Server);
        switch (fault.Kind)
        {
            case FaultKind.Kill:
                process.Restart();
                world.History.Add(new ServerRecord(fault.Server, -1, world.Now, world.Now, "restart", null, 0));
                break;
            case FaultKind.Pause:
                process.Resume();
                break;
            case FaultKind.Blackhole:
                _blackholes[fault.Server]--;
                Refresh(fault.Server);
                break;
            case FaultKind.Partition or FaultKind.OneWayPartition or FaultKind.Slow or FaultKind.Reset:
                Hold(fault.Frontend, fault.Server, fault, -1);
                break;
            case FaultKind.Blip:
                for (var s = 0; s < network.ServerCount; s++)
                {
                    Hold(fault.Frontend, s, fault with { Kind = FaultKind.Partition, Server = s }, -1);
                }

                break;
        }
    }

    private void Hold(int frontend, int server, PlannedFault fault, int delta)
    {
        var id = (frontend, server, fault.Kind, fault.Kind == FaultKind.OneWayPartition ? fault.Direction : 0);
        _active[id] = _active.GetValueOrDefault(id) + delta;
        if (fault.Kind == FaultKind.Reset && delta > 0)
        {
            world.Network.ResetLink(frontend, server);
        }

        Refresh(server, frontend);
    }

    /// <summary>Recomputes the modes of a server's links (of one frontend, or all) from the faults active on them.</summary>
    private void Refresh(int server, int onlyFrontend = -1)
    {
        var network = world.Network;
        for (var f = 0; f < network.FrontendCount; f++)
        {
            if (onlyFrontend >= 0 && f != onlyFrontend)
            {
                continue;
            }

            var blackhole = _blackholes.GetValueOrDefault(server) > 0;
            var both = Active(f, server, FaultKind.Partition, 0);
            var up = both || Active(f, server, FaultKind.OneWayPartition, 0);
            var down = both || Active(f, server, FaultKind.OneWayPartition, 1);
            var link = network.Link(f, server);
            link.ExtraLatencyTicks = Active(f, server, FaultKind.Slow, 0) ? link.SlowLatencyTicks : 0;
            link.Resetting = Active(f, server, FaultKind.Reset, 0);
            network.SetLink(f, server, blackhole ? LinkMode.Drop : up ? LinkMode.Hold : LinkMode.Pass, blackhole ? LinkMode.Drop : down ? LinkMode.Hold : LinkMode.Pass);
        }
    }

    private bool Active(int frontend, int server, FaultKind kind, int direction) => _active.GetValueOrDefault((frontend, server, kind, direction)) > 0;
}
