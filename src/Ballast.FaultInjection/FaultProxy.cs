using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Ballast.FaultInjection;

/// <summary>
/// A TCP proxy on a loopback port in front of one server, whose link can be cut (<see cref="ProxyFaultMode.Blackhole"/>),
/// reset (<see cref="ProxyFaultMode.Reset"/>) or slowed (<see cref="ProxyFaultMode.Latency"/>) while it runs. Give one client
/// the proxy's <see cref="EndPoint"/> and another the server's own, and only the first sees the fault.
/// </summary>
/// <remarks>
/// A mode change applies at once to open connections as well as new ones. The proxy only listens on and connects to
/// loopback addresses. Closing a connection (FIN) passes through in every mode, so connections whose peer has gone
/// are released even while blackholed.
/// </remarks>
public sealed class FaultProxy : IAsyncDisposable
{
    private static readonly TimeSpan DisposeWait = TimeSpan.FromSeconds(5);

    private readonly Socket _listener;
    private readonly IPEndPoint _target;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<ProxyConnection, Task> _connections = new();
    private readonly Task _acceptLoop;
    private volatile ProxyFaultState _state = new(ProxyFaultMode.Pass, TimeSpan.Zero);
    private long _bytesForwarded;
    private long _bytesDropped;
    private long _connectionsAccepted;
    private int _disposed;

    /// <summary>Starts a proxy listening on a free port of <paramref name="listenAddress"/>, forwarding to the target, in <see cref="ProxyFaultMode.Pass"/>.</summary>
    /// <param name="targetHost">The server's loopback address (or <c>localhost</c>).</param>
    /// <param name="targetPort">The server's port.</param>
    /// <param name="listenAddress">Loopback address to listen on. Default <c>127.0.0.1</c>.</param>
    /// <param name="timeProvider">Clock for latency and flapping. Default <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentException">An address is not loopback or the port is out of range.</exception>
    public FaultProxy(string targetHost, int targetPort, string listenAddress = "127.0.0.1", TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(targetPort, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(targetPort, 65535);
        var targetAddress = Loopback.Parse(targetHost, nameof(targetHost));
        var listenIp = Loopback.Parse(listenAddress, nameof(listenAddress));
        _target = new IPEndPoint(targetAddress, targetPort);
        _time = timeProvider ?? TimeProvider.System;

        _listener = new Socket(listenIp.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            _listener.Bind(new IPEndPoint(listenIp, 0));
            _listener.Listen(512);
        }
        catch
        {
            _listener.Dispose();
            throw;
        }

        Host = listenIp.ToString();
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        TargetEndPoint = Loopback.FormatEndPoint(targetAddress.ToString(), targetPort);
        _acceptLoop = AcceptLoopAsync(_stopping.Token);
    }

    /// <summary>The address the proxy listens on.</summary>
    public string Host { get; }

    /// <summary>The port the proxy listens on (picked free at start).</summary>
    public int Port { get; }

    /// <summary><c>host:port</c> of the proxy, to give a client in place of the server's.</summary>
    public string EndPoint => Loopback.FormatEndPoint(Host, Port);

    /// <summary><c>host:port</c> of the server behind the proxy.</summary>
    public string TargetEndPoint { get; }

    /// <summary>The current fault mode; setting it is <see cref="SetMode"/> with the current latency.</summary>
    public ProxyFaultMode Mode
    {
        get => _state.Mode;
        set => SetMode(value);
    }

    /// <summary>How long each chunk is held back in <see cref="ProxyFaultMode.Latency"/> mode, per direction.</summary>
    public TimeSpan Latency => _state.Latency;

    /// <summary>Bytes sent on to the other side so far, both directions together.</summary>
    public long BytesForwarded => Interlocked.Read(ref _bytesForwarded);

    /// <summary>Bytes received and thrown away (blackholed) so far, both directions together.</summary>
    public long BytesDropped => Interlocked.Read(ref _bytesDropped);

    /// <summary>Client connections accepted so far, including those reset at once.</summary>
    public long ConnectionsAccepted => Interlocked.Read(ref _connectionsAccepted);

    /// <summary>Client connections open now.</summary>
    public int ActiveConnections => _connections.Count;

    /// <summary>The proxy's mode and latency, read by the pumps.</summary>
    internal ProxyFaultState State => _state;

    /// <summary>Starts a proxy; the same as the constructor.</summary>
    /// <param name="targetHost">The server's loopback address (or <c>localhost</c>).</param>
    /// <param name="targetPort">The server's port.</param>
    /// <param name="listenAddress">Loopback address to listen on. Default <c>127.0.0.1</c>.</param>
    /// <param name="timeProvider">Clock for latency and flapping. Default <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentException">An address is not loopback or the port is out of range.</exception>
    public static FaultProxy Start(string targetHost, int targetPort, string listenAddress = "127.0.0.1", TimeProvider? timeProvider = null) =>
        new(targetHost, targetPort, listenAddress, timeProvider);

    /// <summary>
    /// Changes the fault mode for open and new connections at once. <see cref="ProxyFaultMode.Reset"/> aborts every
    /// open connection now; leaving <see cref="ProxyFaultMode.Blackhole"/> resumes forwarding of new bytes.
    /// </summary>
    /// <param name="mode">The new mode.</param>
    /// <param name="latency">The delay for <see cref="ProxyFaultMode.Latency"/>; null keeps the current one.</param>
    /// <exception cref="ArgumentOutOfRangeException">The latency is negative or the mode unknown.</exception>
    public void SetMode(ProxyFaultMode mode, TimeSpan? latency = null)
    {
        if (!Enum.IsDefined(mode))
        {
            throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown proxy fault mode.");
        }

        if (latency is { } value)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero, nameof(latency));
        }

        _state = new ProxyFaultState(mode, latency ?? _state.Latency);
        foreach (var connection in _connections.Keys)
        {
            connection.OnModeChanged(mode);
        }
    }

    /// <summary>
    /// Flaps the link: <paramref name="downMode"/> for <paramref name="period"/>, then <see cref="ProxyFaultMode.Pass"/> for
    /// <paramref name="period"/>, and so on for <paramref name="duration"/>; always ends in <see cref="ProxyFaultMode.Pass"/>,
    /// also when cancelled.
    /// </summary>
    /// <param name="period">How long each half of a flap lasts; more than zero.</param>
    /// <param name="duration">How long to flap in all.</param>
    /// <param name="downMode">The mode of the down halves (with <see cref="ProxyFaultMode.Latency"/>, the current <see cref="Latency"/>).</param>
    /// <param name="ct">Stops flapping early.</param>
    /// <exception cref="ArgumentOutOfRangeException">The period is not positive or the duration is negative.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    public async Task FlapAsync(TimeSpan period, TimeSpan duration, ProxyFaultMode downMode, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(period, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(duration, TimeSpan.Zero);
        var started = _time.GetTimestamp();
        // Bounded by the clock and by a count of flips, so a clock that stops moving cannot keep it going.
        var maxFlips = (long)Math.Min(1_000_000, Math.Ceiling(duration / period) + 1);
        try
        {
            var down = true;
            for (long flip = 0; flip < maxFlips; flip++)
            {
                var remaining = duration - _time.GetElapsedTime(started);
                if (remaining <= TimeSpan.Zero)
                {
                    break;
                }

                SetMode(down ? downMode : ProxyFaultMode.Pass);
                await Task.Delay(remaining < period ? remaining : period, _time, ct).ConfigureAwait(false);
                down = !down;
            }
        }
        finally
        {
            SetMode(ProxyFaultMode.Pass);
        }
    }

    /// <summary>Stops listening and closes every connection; safe to call more than once.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        foreach (var connection in _connections.Keys)
        {
            connection.Close(abortive: false);
        }

        try
        {
            var all = _connections.Values.Append(_acceptLoop);
            await Task.WhenAll(all).WaitAsync(DisposeWait, _time).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Disposal must not throw; the loops catch their own errors and are only awaited here.
        catch (Exception)
#pragma warning restore CA1031
        {
        }

        _stopping.Dispose();
    }

    /// <inheritdoc />
    public override string ToString() => $"proxy {EndPoint} -> {TargetEndPoint} ({Mode})";

    internal void AddForwarded(int count) => Interlocked.Add(ref _bytesForwarded, count);

    internal void AddDropped(int count) => Interlocked.Add(ref _bytesDropped, count);

    private async Task AcceptLoopAsync(CancellationToken ct)
    {
        // Bounded by disposal, which cancels the token and closes the listener.
        while (!ct.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                // A connection that went away before we took it (or a full file table): pause briefly, don't spin.
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(10), _time, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            Interlocked.Increment(ref _connectionsAccepted);
            var connection = new ProxyConnection(this, client, _time);
            // Register before running so a mode change or disposal racing with the start still reaches it.
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var run = RunConnectionAsync(connection, gate.Task, ct);
            _connections[connection] = run;
            gate.SetResult();
            if (ct.IsCancellationRequested)
            {
                connection.Close(abortive: false);
            }
        }
    }

    private async Task RunConnectionAsync(ProxyConnection connection, Task registered, CancellationToken ct)
    {
        try
        {
            await registered.ConfigureAwait(false);
            await connection.RunAsync(_target, ct).ConfigureAwait(false);
        }
        finally
        {
            _connections.TryRemove(connection, out _);
        }
    }
}
