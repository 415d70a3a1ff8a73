using Ballast.Connections;
using Ballast.Health;
using Ballast.Protocol.Commands;

namespace Ballast.Pool;

/// <summary>
/// One server of a pool: its pipelined connections and this frontend's health state for it. Requests for a
/// server that its health holds down fail at once, without touching the network.
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
    private Exception? _configurationError;
    private long _configurationErrorAt;

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
        Health = new ServerHealth(options.FailureDetection, time);
        _connectTo = options.ConnectVia?.Invoke(endPoint) ?? endPoint;
    }

    /// <summary>The node's index in its pool (and in the shared view).</summary>
    public int Index { get; }

    public ServerEndPoint EndPoint { get; }

    /// <summary>The server's health: the one owner of its state in this frontend.</summary>
    public ServerHealth Health { get; }

    /// <summary>
    /// The TLS or login failure (<see cref="System.Security.Authentication.AuthenticationException"/>) of the latest
    /// connection attempt, if it came within <paramref name="within"/>; null once a connection succeeds. Such a failure
    /// is a configuration error, so the client raises it on every operation instead of letting a read that never
    /// reaches the server (its view lease gone stale) look like a miss.
    /// </summary>
    public Exception? RecentConfigurationError(TimeSpan within)
        => Volatile.Read(ref _configurationError) is { } error && _time.GetElapsedTime(Volatile.Read(ref _configurationErrorAt)) < within ? error : null;

    /// <summary>
    /// Waits (at most <paramref name="limit"/>) for the connection attempts under way to end, however they end: a TLS
    /// handshake or login that is still running may yet turn out to be a configuration error.
    /// </summary>
    public async Task SettleConnectsAsync(TimeSpan limit, TimeProvider time)
    {
        Task[] pending;
        lock (_connectLock)
        {
            pending = [.. _connecting.Where(t => t is { IsCompleted: false })!];
        }

        if (pending.Length == 0)
        {
            return;
        }

        try
        {
            await Task.WhenAll(pending).WaitAsync(limit, time).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // How they ended is recorded where it matters (RecentConfigurationError, the health state).
        }
    }

    /// <summary>
    /// Sends <paramref name="command"/> and awaits its answer. Fails at once with <see cref="ServerUnavailableException"/>
    /// while its health holds the server down, unless <paramref name="evenIfDown"/> (probes and failback).
    /// </summary>
    public ValueTask<T> ExecuteAsync<T>(MetaCommand<T> command, CancellationToken cancellationToken, bool evenIfDown = false)
    {
        if (!evenIfDown && Health.IsDown)
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

    void IConnectionObserver.OnResponsesReceived(MetaConnection connection) => Health.RecordSuccess();

    void IConnectionObserver.OnFaulted(MetaConnection connection, ConnectionFault fault, Exception error)
    {
        Diagnostics.Instruments.RecordFault(EndPoint, fault);
        if (error is System.Security.Authentication.AuthenticationException)
        {
            // A server that demands a login this client does not give (memcached -Y answering "unauthenticated").
            RecordConfigurationError(error);
        }

        switch (fault)
        {
            case ConnectionFault.Timeout when Health.RecordTimeout():
                _onLocalFailure(this, ServerFailureReason.Timeouts, error);
                break;
            case ConnectionFault.Reset when !_disposed && Health.MarkDown():
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
            if (!_disposed && Health.MarkDown())
            {
                _onLocalFailure(this, ServerFailureReason.ConnectionRefused, error);
            }

            command.Fail(new ServerUnavailableException(command.Key is null ? error.Message : $"{error.Message} The request for {Describe(command)} was not sent.", EndPoint, error));
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
        MetaConnection connection;
        try
        {
            connection = await MetaConnection.ConnectAsync(EndPoint, _connectTo, this, _time, _options, CancellationToken.None).ConfigureAwait(false);
        }
        catch (System.Security.Authentication.AuthenticationException error)
        {
            RecordConfigurationError(error);
            throw;
        }

        Volatile.Write(ref _configurationError, null);
        Volatile.Write(ref _connections[slot], connection);
        if (_disposed)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }

        return connection;
    }

    private void RecordConfigurationError(Exception error)
    {
        Volatile.Write(ref _configurationErrorAt, _time.GetTimestamp());
        Volatile.Write(ref _configurationError, error);
    }

    private static string Describe(MetaCommand command) => command.Describe();
}
