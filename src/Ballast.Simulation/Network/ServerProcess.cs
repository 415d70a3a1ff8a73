using System.Buffers;
using Ballast.Simulation.Runtime;
using Ballast.Simulation.Server;

namespace Ballast.Simulation.Network;

/// <summary>
/// A simulated memcached process on the simulated network: its <see cref="SimulatedMemcached"/> state, whether it
/// runs, is paused or is dead, and its open connections, each read as bytes arrive (or, when paused, on resume).
/// </summary>
internal sealed class ServerProcess
{
    private readonly SimulationLoop _loop;
    private readonly List<SimulatedConnection> _connections = [];
    private readonly ArrayBufferWriter<byte> _output = new(1024);
    private readonly Action<ServerProcess, SimulatedConnection, ServedCommand> _served;
    private byte[] _scratch = new byte[4096];

    public ServerProcess(int index, SimulationLoop loop, SimulatedMemcached memcached, Action<ServerProcess, SimulatedConnection, ServedCommand> served)
    {
        Index = index;
        _loop = loop;
        Memcached = memcached;
        _served = served;
    }

    public int Index { get; }

    public SimulatedMemcached Memcached { get; }

    public ProcessState State { get; private set; } = ProcessState.Running;

    /// <summary>The client of the command being run, while one runs.</summary>
    public SimulatedConnection? Current { get; private set; }

    public void Accept(SimulatedConnection connection) => _connections.Add(connection);

    /// <summary>Bytes arrived on <paramref name="connection"/>.</summary>
    public void Receive(SimulatedConnection connection, byte[] bytes, long sentAt)
    {
        if (connection.ServerClosed || connection.Incarnation != Memcached.Incarnation || State == ProcessState.Dead)
        {
            return;
        }

        connection.ServerInput.AddRange(bytes);
        connection.LastSentAt = sentAt;
        if (State == ProcessState.Running)
        {
            Read(connection);
        }
    }

    /// <summary>SIGSTOP.</summary>
    public void Pause()
    {
        if (State == ProcessState.Running)
        {
            State = ProcessState.Paused;
        }
    }

    /// <summary>SIGCONT: what queued while paused is read now, connection by connection in an order drawn from the seed.</summary>
    public void Resume()
    {
        if (State != ProcessState.Paused)
        {
            return;
        }

        State = ProcessState.Running;
        var waiting = _connections.Where(c => c.ServerInput.Count > 0).ToArray();
        _loop.Random.Shuffle(waiting);
        foreach (var connection in waiting)
        {
            Read(connection);
        }
    }

    /// <summary>kill -9: every connection is reset; new ones are refused until <see cref="Restart"/>.</summary>
    public void Kill()
    {
        State = ProcessState.Dead;
        foreach (var connection in _connections)
        {
            connection.ServerDied();
        }

        _connections.Clear();
    }

    /// <summary>Starts again, empty, with its CAS counter from 1 and a new clock phase.</summary>
    public void Restart()
    {
        if (State != ProcessState.Dead)
        {
            Kill();
        }

        Memcached.Start(_loop.Random.NextInt64(TimeSpan.TicksPerSecond));
        State = ProcessState.Running;
    }

    private void Read(SimulatedConnection connection)
    {
        var input = connection.ServerInput;
        if (_scratch.Length < input.Count)
        {
            _scratch = new byte[Math.Max(input.Count, _scratch.Length * 2)];
        }

        input.CopyTo(_scratch);
        _output.ResetWrittenCount();
        Current = connection;
        int consumed;
        try
        {
            consumed = MetaProtocol.Process(Memcached, _scratch.AsSpan(0, input.Count), _output, command => _served(this, connection, command));
        }
        finally
        {
            Current = null;
        }

        input.RemoveRange(0, consumed);
        if (_output.WrittenCount > 0)
        {
            connection.ServerWrite(_output.WrittenSpan.ToArray());
        }
    }
}
