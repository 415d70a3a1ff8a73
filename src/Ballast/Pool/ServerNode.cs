using Ballast.Connections;
using Ballast.Health;
using Ballast.Protocol.Commands;

namespace Ballast.Pool;

/// <summary>
/// One server of a pool: its pipelined connections and this frontend's failure detector for it. Requests for a
/// server that the detector holds down fail at once, without touching the network.
/// </summary>
internal sealed class ServerNode : IConnectionObserver, IAsyncDisposable
{
    private readonly MemcachedClientOptions _options;
    private readonly TimeProvider _time;
    private readonly Action<ServerNode, ServerFailureReason, Exception?> _onLocalFailure;
    private readonly MetaConnection?[] _connections;
    private readonly Task<MetaConnection>?[] _connecting;
    private readonly Lock _connectLock = new();
    private readonly ServerEndPoint _connectTo;
    private int _nextSlot;
    private bool _disposed;

    public ServerNode(
        int index,
        ServerEndPoint endPoint,
        MemcachedClientOptions options,
        TimeProvider time,
        Action<ServerNode, ServerFailureReason, Exception?> onLocalFailure)
    {
        Index = index;
        EndPoint = endPoint;
        _options = options;
        _time = time;
        _onLocalFailure = onLocalFailure;
        _connections = new MetaConnection?[options.ConnectionsPerServer];
        _connecting = new Task<MetaConnection>?[options.ConnectionsPerServer];
        Detector = new FailureDetector(options.FailureDetection, time);
        _connectTo = options.ConnectVia?.Invoke(endPoint) ?? endPoint;
    }

    /// <summary>The node's index in its pool (and in the shared view).</summary>
    public int Index { get; }

    public ServerEndPoint EndPoint { get; }

    public FailureDetector Detector { get; }

    /// <summary>
    /// Sends <paramref name="command"/> and awaits its answer. Fails at once with <see cref="ServerUnavailableException"/>
    /// while the detector holds the server down, unless <paramref name="evenIfDown"/> (probes and failback).
    /// </summary>
    public ValueTask<T> ExecuteAsync<T>(MetaCommand<T> command, CancellationToken cancellationToken, bool evenIfDown = false)
    {
        if (!evenIfDown && Detector.IsDown)
        {
            // Failed through the command, so a command that turns failures into results (a read's miss) does so.
            command.Fail(new ServerUnavailableException(
                $"Server {EndPoint} is marked down; the request for {Describe(command)} was not sent.", EndPoint));
            return command.AsValueTask();
        }

        var slot = (int)((uint)Interlocked.Increment(ref _nextSlot) % (uint)_connections.Length);
        var connection = Volatile.Read(ref _connections[slot]);
        if (connection is { IsHealthy: true })
        {
            command.RegisterCancellation(cancellationToken);
            connection.Send(command);
            return command.AsValueTask();
        }

        return ConnectAndExecuteAsync(slot, command, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        foreach (var connection in _connections)
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    void IConnectionObserver.OnResponsesReceived(MetaConnection connection) => Detector.RecordSuccess();

    void IConnectionObserver.OnFaulted(MetaConnection connection, ConnectionFault fault, Exception error)
    {
        Diagnostics.Instruments.RecordFault(EndPoint, fault);
        switch (fault)
        {
            case ConnectionFault.Timeout when Detector.RecordTimeout():
                _onLocalFailure(this, ServerFailureReason.Timeouts, error);
                break;
            case ConnectionFault.Reset when !_disposed && Detector.MarkDown():
                _onLocalFailure(this, ServerFailureReason.ConnectionReset, error);
                break;
        }
    }

    private async ValueTask<T> ConnectAndExecuteAsync<T>(int slot, MetaCommand<T> command, CancellationToken cancellationToken)
    {
        MetaConnection connection;
        try
        {
            connection = await GetOrConnectAsync(slot).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ServerUnavailableException error)
        {
            if (!_disposed && Detector.MarkDown())
            {
                _onLocalFailure(this, ServerFailureReason.ConnectionRefused, error);
            }

            command.Fail(new ServerUnavailableException($"{error.Message} The request for {Describe(command)} was not sent.", EndPoint, error));
            return await command.AsValueTask().ConfigureAwait(false);
        }

        command.RegisterCancellation(cancellationToken);
        connection.Send(command);
        return await command.AsValueTask().ConfigureAwait(false);
    }

    /// <summary>One connection attempt per slot at a time: concurrent callers share it.</summary>
    private Task<MetaConnection> GetOrConnectAsync(int slot)
    {
        lock (_connectLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var current = _connections[slot];
            if (current is { IsHealthy: true })
            {
                return Task.FromResult(current);
            }

            var pending = _connecting[slot];
            if (pending is null || pending.IsCompleted)
            {
                pending = ConnectSlotAsync(slot);
                _connecting[slot] = pending;
            }

            return pending;
        }
    }

    private async Task<MetaConnection> ConnectSlotAsync(int slot)
    {
        var connection = await MetaConnection.ConnectAsync(EndPoint, _connectTo, this, _time, _options.ConnectTimeout, _options.OperationTimeout, CancellationToken.None).ConfigureAwait(false);
        Volatile.Write(ref _connections[slot], connection);
        if (_disposed)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }

        return connection;
    }

    private static string Describe(MetaCommand command) => command.Key is null ? "a server command" : $"key '{command.Key}'";
}
