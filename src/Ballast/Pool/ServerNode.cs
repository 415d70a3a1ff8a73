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
    private readonly Lock _startLock = new();
    private readonly ServerEndPoint _connectTo;
    private readonly long[] _openedAs;
    private readonly long[] _openedAt;
    private int _nextSlot;
    private long _connectionsOpened;
    private bool _disposed;
    private Exception? _configurationError;
    private long _configurationErrorAt;

    // The start of the server's life this frontend's connections reached (see ServerStart), and how many times it was
    // forgotten (at readmissions): a check that began before a forgetting compares against nothing. Under _startLock.
    private ServerStart? _knownStart;
    private int _startGeneration;

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
        _openedAs = new long[options.ConnectionsPerServer];
        _openedAt = new long[options.ConnectionsPerServer];
        Health = new ServerHealth(options.FailureDetection, time, options.Runtime.Random);
        Errors = new Diagnostics.ErrorsAsMisses(endPoint, options.Logger, time);
        _connectTo = options.ConnectVia?.Invoke(endPoint) ?? endPoint;
    }

    /// <summary>The node's index in its pool (and in the shared view).</summary>
    public int Index { get; }

    public ServerEndPoint EndPoint { get; }

    /// <summary>The server's health: the one owner of its state in this frontend.</summary>
    public ServerHealth Health { get; }

    /// <summary>Told of every flush of this server that landed: the pool counts and reports it.</summary>
    public Action<ServerNode, ServerFlushReason, long>? Flushed { get; set; }

    /// <summary>Where this server's errors that become misses, false or null are counted and logged.</summary>
    public Diagnostics.ErrorsAsMisses Errors { get; }

    /// <summary>
    /// The TLS or login failure (<see cref="System.Security.Authentication.AuthenticationException"/>) of the latest
    /// connection attempt or answer, if it came within <paramref name="within"/> or the server is still held down since;
    /// null once the server answers a request (a connection alone proves nothing: a server that demands a login accepts
    /// it, then refuses every request). Such a failure is a configuration error (or an impostor), so the client raises it on
    /// every operation on this server's keys instead of letting a read that never reaches the server look like a miss.
    /// </summary>
    public Exception? RecentConfigurationError(TimeSpan within)
        => Volatile.Read(ref _configurationError) is { } error && (Health.IsDown || _time.GetElapsedTime(Volatile.Read(ref _configurationErrorAt)) < within) ? error : null;

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

    /// <summary>How many connections to the server have been opened: each new one (after a reset, a timeout, a restart) counts.</summary>
    public long ConnectionsOpened => Interlocked.Read(ref _connectionsOpened);

    /// <summary>True when a healthy connection to the server is open now.</summary>
    public bool HasOpenConnection => HasConnectionOpenedBy(long.MaxValue);

    /// <summary>True when a healthy connection opened no later than the <paramref name="watermark"/>-th is open now.</summary>
    public bool HasConnectionOpenedBy(long watermark)
    {
        for (var slot = 0; slot < _connections.Length; slot++)
        {
            if (Volatile.Read(ref _connections[slot]) is { IsHealthy: true } && Volatile.Read(ref _openedAs[slot]) <= watermark)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Sends at once what each connection's window holds back (see <see cref="MetaConnection.SendHeldNow"/>).</summary>
    public void SendHeldRequests()
    {
        for (var slot = 0; slot < _connections.Length; slot++)
        {
            Volatile.Read(ref _connections[slot])?.SendHeldNow();
        }
    }

    /// <summary>
    /// Closes the connections opened before <paramref name="timestamp"/> (a <see cref="TimeProvider"/> timestamp): on a
    /// readmission, those opened before the outage may reach the server's previous life (a restart resets them only
    /// when they are next used), and a reset found that late would mark the readmitted server down again, fence it and
    /// flush it a second time for the same outage. Their requests in flight fail like any lost connection's; the next
    /// requests open fresh connections. Their closing is no failure of the server.
    /// </summary>
    public void RetireConnectionsOpenedBefore(long timestamp)
    {
        for (var slot = 0; slot < _connections.Length; slot++)
        {
            if (Volatile.Read(ref _connections[slot]) is { IsHealthy: true } connection && Volatile.Read(ref _openedAt[slot]) < timestamp)
            {
                connection.Poison(ConnectionFault.Closed, new ServerUnavailableException(
                    $"Server {EndPoint}: a connection opened before its latest outage was closed when the server was readmitted (it may reach the server's previous life).", EndPoint));
            }
        }
    }

    /// <summary>
    /// The connection a request goes to: round robin. (Keeping each thread to one connection, to spare the shared
    /// counter's cache line, sent every request of a thread to a slot whose connect was held, where the round robin
    /// lets half of them find the other: `ConnectWhileDownTests` relies on that, and the gain was within the noise.)
    /// </summary>
    private int NextSlot() => SlotOf(Interlocked.Increment(ref _nextSlot));

    private int SlotOf(int counter) => (int)((uint)counter % (uint)_connections.Length);

    /// <summary>
    /// Sends <paramref name="command"/> only on a connection opened no later than the <paramref name="watermark"/>-th (a
    /// refill under a lease: a connection opened since may reach a restarted server), never opening one; the command
    /// fails with <see cref="ServerUnavailableException"/> when there is none.
    /// </summary>
    public ValueTask<T> ExecuteOnConnectionOpenedByAsync<T>(MetaCommand<T> command, long watermark, CancellationToken cancellationToken)
    {
        var start = NextSlot();
        for (var i = 0; i < _connections.Length; i++)
        {
            var slot = (start + i) % _connections.Length;
            if (Volatile.Read(ref _connections[slot]) is { IsHealthy: true } connection && Volatile.Read(ref _openedAs[slot]) <= watermark)
            {
                command.RegisterCancellation(cancellationToken);
                connection.Send(command);
                return command.AsValueTask();
            }
        }

        command.Fail(new ServerUnavailableException(
            watermark == long.MaxValue
                ? $"Server {EndPoint}: no connection is open for {Describe(command)}, which does not open one; the request was not sent."
                : $"Server {EndPoint}: no connection opened before the refill lease of {Describe(command)} was granted is open (the server may have restarted since); the request was not sent.",
            EndPoint));
        return command.AsValueTask();
    }

    /// <summary>
    /// Makes sure a connection to the server is open, opening one if none is (for the pool's own requests: even while
    /// the server is held down), so that what is sent next goes out at once. False when none could be opened; a
    /// refused connect marks the server down, as a request's would.
    /// </summary>
    public ValueTask<bool> TryOpenConnectionAsync(CancellationToken cancellationToken) =>
        HasOpenConnection ? ValueTask.FromResult(true) : OpenConnectionAsync(cancellationToken);

    private async ValueTask<bool> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        // The slot the next request takes, without taking it: the round robin stays where it was.
        var slot = SlotOf(Volatile.Read(ref _nextSlot) + 1);
        try
        {
            await Runtime.WorkScheduler.Current.WaitAsync(GetOrConnectAsync(slot), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception error) when (error is MemcachedException or System.Security.Authentication.AuthenticationException)
        {
            if (error is ServerUnavailableException refused)
            {
                MarkDownForRefusedConnect(refused);
            }

            Errors.Absorbed(Diagnostics.AbsorbedError.FlushFailed, null, error);
            return false;
        }
    }

    /// <summary>
    /// Sends <paramref name="command"/> and awaits its answer. Fails at once with <see cref="ServerUnavailableException"/>
    /// while its health holds the server down, unless <paramref name="evenIfDown"/> (the pool's own requests: probes,
    /// the shared view, failback, stats), for which a TLS or login failure is a <see cref="ServerUnavailableException"/>
    /// too: to the pool's machinery such a server does not answer, like any other it cannot use (an application's
    /// request gets the <see cref="System.Security.Authentication.AuthenticationException"/> itself).
    /// </summary>
    public ValueTask<T> ExecuteAsync<T>(MetaCommand<T> command, CancellationToken cancellationToken, bool evenIfDown = false)
    {
        if (evenIfDown)
        {
            return ExecuteForPoolAsync(command, cancellationToken);
        }

        if (Health.IsDown)
        {
            // Failed through the command, so a command that turns failures into results (a read's miss) does so.
            command.Fail(new ServerUnavailableException(
                $"Server {EndPoint} is marked down; the request for {Describe(command)} was not sent.", EndPoint));
            return command.AsValueTask();
        }

        return SendAsync(command, cancellationToken, outageWatermark: Health.DownSince);
    }

    private async ValueTask<T> ExecuteForPoolAsync<T>(MetaCommand<T> command, CancellationToken cancellationToken)
    {
        var description = Describe(command);
        try
        {
            return await SendAsync(command, cancellationToken, outageWatermark: null).ConfigureAwait(false);
        }
        catch (System.Security.Authentication.AuthenticationException error)
        {
            throw new ServerUnavailableException($"Server {EndPoint} cannot be used for {description}: {error.Message}", EndPoint, error);
        }
    }

    /// <param name="command">The request.</param>
    /// <param name="cancellationToken">The caller's token.</param>
    /// <param name="outageWatermark">
    /// For an application's request, the start of the server's latest outage when it was dispatched (see
    /// <see cref="ConnectAndExecuteAsync"/>); null for the pool's own requests, which go even to a server held down.
    /// </param>
    private ValueTask<T> SendAsync<T>(MetaCommand<T> command, CancellationToken cancellationToken, long? outageWatermark)
    {
        var slot = NextSlot();
        var connection = Volatile.Read(ref _connections[slot]);
        if (connection is { IsHealthy: true })
        {
            command.RegisterCancellation(cancellationToken);
            connection.Send(command);
            return command.AsValueTask();
        }

        return ConnectAndExecuteAsync(slot, command, cancellationToken, outageWatermark);
    }

    /// <summary>
    /// Sends <c>flush_all</c> before the server is readmitted (a failback, a lost-record recovery), once; false when it
    /// did not answer. A flush that lands is told (<see cref="Flushed"/>), with its reason and the epoch it belongs to.
    /// </summary>
    /// <param name="reason">Why the server is flushed (told to <see cref="Flushed"/>).</param>
    /// <param name="epoch">The outage the flush belongs to.</param>
    /// <param name="onOpenConnectionOnly">
    /// Send only on a connection already open (see <see cref="TryOpenConnectionAsync"/>), never opening one: the caller
    /// read the server's record just before, and a flush held by a connect for up to the connect timeout would land
    /// long after that read, so that a fence published meanwhile makes the readmission fail and the server be
    /// flushed a second time for one outage (simulator seed gutter 39004958).
    /// </param>
    /// <param name="cancellationToken">The caller's token.</param>
    public async Task<bool> TryFlushAsync(ServerFlushReason reason, long epoch, bool onOpenConnectionOnly, CancellationToken cancellationToken)
    {
        // One attempt, never retried at once on another connection: a flush whose answer was lost may still sit in the
        // server's socket buffer, and a retry that succeeded and readmitted the server would be followed by it
        // (counters restarted under frontends already using the server: the same number twice). The caller tries
        // again on its next round, after that late flush.
        try
        {
            var flush = TextCommand.FlushAll(0);
            await (onOpenConnectionOnly
                ? ExecuteOnConnectionOpenedByAsync(flush, long.MaxValue, cancellationToken)
                : ExecuteAsync(flush, cancellationToken, evenIfDown: true)).ConfigureAwait(false);
            Flushed?.Invoke(this, reason, epoch);
            return true;
        }
        catch (MemcachedException error)
        {
            Errors.Absorbed(Diagnostics.AbsorbedError.FlushFailed, null, error);
            return false;
        }
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

    void IConnectionObserver.OnResponsesReceived(MetaConnection connection)
    {
        Health.RecordSuccess();
        if (Volatile.Read(ref _configurationError) is not null)
        {
            Volatile.Write(ref _configurationError, null);
        }
    }

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

    /// <summary>
    /// Opens the slot's connection and sends <paramref name="command"/> on it. An application's request is not sent when
    /// the server went down while the connection was being opened (<paramref name="outageWatermark"/>: the outage it was
    /// dispatched under, if any, is no longer the latest): a connect can wait out a whole partition, and in that time
    /// others fence the server, flush it and perhaps readmit it. An increment sent then counts across that flush on a
    /// frontend that never saw the readmission, and a set lands a value computed before the outage after its flush
    /// (simulator seed offline 7002594: an increment dispatched under a partition reached the server 770 ms later,
    /// after another frontend's failback flush).
    /// </summary>
    private async ValueTask<T> ConnectAndExecuteAsync<T>(int slot, MetaCommand<T> command, CancellationToken cancellationToken, long? outageWatermark)
    {
        MetaConnection connection;
        try
        {
            var connecting = GetOrConnectAsync(slot);
            if (connecting.IsCompleted)
            {
                connection = await connecting.ConfigureAwait(false);
            }
            else
            {
                // The command can be failed while the connect waits (a caller who left and whose grace ran out, see
                // Invalidation.CallerLeftGrace): then it is not sent, and its failure is returned at once, not after a
                // connect that may take the whole connect timeout (simulator seed replicated 19005985: a cancelled
                // remove's delete, held by a connect through a one-way partition, fenced its server only after the
                // connect timeout, and a read 1.1 s after the caller's return was stale).
                using var failedOrLeft = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                command.CancelWhenFailed(failedOrLeft);
                try
                {
                    connection = await Runtime.WorkScheduler.Current.WaitAsync(connecting, failedOrLeft.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    return await command.AsValueTask().ConfigureAwait(false);
                }
                finally
                {
                    command.CancelWhenFailed(null);
                }
            }
        }
        catch (ServerUnavailableException error)
        {
            MarkDownForRefusedConnect(error);
            command.Fail(new ServerUnavailableException(command.Key is null ? error.Message : $"{error.Message} The request for {Describe(command)} was not sent.", EndPoint, error));
            return await command.AsValueTask().ConfigureAwait(false);
        }

        if (outageWatermark is { } dispatchedUnder && (Health.IsDown || Health.DownSince != dispatchedUnder))
        {
            command.Fail(new ServerUnavailableException(
                $"Server {EndPoint} was marked down while a connection for {Describe(command)} was being opened; the request was not sent.", EndPoint));
            return await command.AsValueTask().ConfigureAwait(false);
        }

        command.RegisterCancellation(cancellationToken);
        connection.Send(command);
        return await command.AsValueTask().ConfigureAwait(false);
    }

    /// <summary>A connect that failed marks the server down here, once per outage (not while the node is being disposed).</summary>
    private void MarkDownForRefusedConnect(ServerUnavailableException error)
    {
        if (!_disposed && Health.MarkDown())
        {
            _onLocalFailure(this, ServerFailureReason.ConnectionRefused, error);
        }
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

        if (_options.FailureDetection.DetectRestarts)
        {
            connection.SendAhead(StartCheck());
        }

        Volatile.Write(ref _openedAs[slot], Interlocked.Increment(ref _connectionsOpened));
        Volatile.Write(ref _openedAt[slot], _time.GetTimestamp());
        Volatile.Write(ref _connections[slot], connection);
        if (_disposed)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }

        return connection;
    }

    /// <summary>
    /// Forgets which life of the server its connections reached: on a readmission, which follows a flush after the
    /// outage began, the server's next life is the one to hold to (a frontend that never connected during the outage
    /// would otherwise take the restart that outage was about for a new one, and fence the server again).
    /// </summary>
    public void ForgetServerStart()
    {
        lock (_startLock)
        {
            _knownStart = null;
            _startGeneration++;
        }
    }

    /// <summary>
    /// The <c>stats</c> that goes ahead of a new connection's first request: a counter must not be handed out by a server
    /// that restarted since this frontend last used it (a timeout below the detector's threshold closes the connection,
    /// the next one reaches the new life, empty, and the increment starts again from its initial value: simulator seed
    /// offline 12003512). The answer is checked on the read loop before any response behind it.
    /// </summary>
    private Protocol.Commands.TextCommand StartCheck()
    {
        ServerStart? baseline;
        int generation;
        lock (_startLock)
        {
            baseline = _knownStart;
            generation = _startGeneration;
        }

        return Protocol.Commands.TextCommand.StatsChecked(answer => CheckStart(ServerStart.From(answer), baseline, generation));
    }

    /// <summary>
    /// Holds the connection to the life it reached: a new life, against the one known when the connection opened, marks
    /// the server down (a failback flushes it before it is used again) and throws, which closes the connection and fails
    /// the requests sent behind the check, unanswered to their callers.
    /// </summary>
    private void CheckStart(ServerStart? reached, ServerStart? baseline, int generation)
    {
        if (reached is not { } start)
        {
            return;
        }

        bool markedDown;
        lock (_startLock)
        {
            if (generation != _startGeneration)
            {
                // Forgotten by a readmission since this connection opened: whatever it reached is the baseline if none is yet.
                _knownStart ??= start;
                return;
            }

            _knownStart = start;
            if (baseline is not { } before || before == start)
            {
                return;
            }

            markedDown = !_disposed && Health.MarkDown();
        }

        var restarted = new ServerUnavailableException(
            $"Server {EndPoint} restarted: a new connection reached {start}, where this client's earlier connections had reached {baseline}. Everything it held is gone, counters included, so it was marked down (a failback flushes it before it is used again) and the requests sent on that connection were failed.",
            EndPoint);
        if (markedDown)
        {
            _onLocalFailure(this, ServerFailureReason.Restarted, restarted);
        }

        throw restarted;
    }

    /// <summary>
    /// A TLS or login failure is this server's fault alone: it is marked down here and fenced, with the reason (events,
    /// logs and health say why), like a server that refuses connections; the other servers go on.
    /// </summary>
    private void RecordConfigurationError(Exception error)
    {
        Volatile.Write(ref _configurationErrorAt, _time.GetTimestamp());
        Volatile.Write(ref _configurationError, error);
        if (!_disposed && Health.MarkDown())
        {
            _onLocalFailure(this, error is MemcachedTlsException ? ServerFailureReason.TlsFailed : ServerFailureReason.AuthenticationFailed, error);
        }
    }

    private static string Describe(MetaCommand command) => command.Describe();
}
