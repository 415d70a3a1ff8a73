using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace Ballast.FaultInjection;

/// <summary>
/// A real memcached server running as a child process on a loopback address, which can be killed, paused (SIGSTOP),
/// resumed and restarted on the same port, to reproduce a server crash, a hung server and a server coming back empty.
/// </summary>
/// <remarks>
/// Every instance is also kept in a process-wide registry that kills the server when this process exits, so a test run
/// that fails half way leaves no memcached behind. Signals go through libc's <c>kill</c>; this type works on Linux.
/// </remarks>
public sealed class MemcachedProcess : IAsyncDisposable, IDisposable
{
    // Bounds on the start-up loops: a bind collision on a port we picked is retried with another port a few times,
    // and a restart on a port someone else took meanwhile is retried a few times after a pause.
    private const int MaxLaunchAttempts = 5;
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan ExitWait = TimeSpan.FromSeconds(5);
    private const int MaxCapturedOutputChars = 16 * 1024;

    // Process-wide registry of live servers, killed on exit so a crashed run does not leave servers running.
    private static readonly ConcurrentDictionary<MemcachedProcess, byte> Live = new();

    private readonly MemcachedProcessOptions _options;
    private readonly IPAddress _address;
    private readonly Lock _gate = new();
    private readonly StringBuilder _output = new();
    private Process? _process;
    private int _pid;
    private bool _paused;
    private int _disposed;

    static MemcachedProcess()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAllStarted();
    }

    private MemcachedProcess(MemcachedProcessOptions options, IPAddress address)
    {
        _options = options;
        _address = address;
        Host = address.ToString();
        Port = options.Port;
    }

    /// <summary>The address memcached listens on, e.g. <c>127.0.0.1</c>.</summary>
    public string Host { get; }

    /// <summary>The TCP port memcached listens on; it stays the same across <see cref="RestartAsync"/>.</summary>
    public int Port { get; private set; }

    /// <summary><c>host:port</c>, as a Ballast server list takes it.</summary>
    public string EndPoint => Loopback.FormatEndPoint(Host, Port);

    /// <summary>Process id of the current (or last) memcached process.</summary>
    public int Pid => Volatile.Read(ref _pid);

    /// <summary>True while the memcached process exists (paused counts as running).</summary>
    public bool IsRunning
    {
        get
        {
            lock (_gate)
            {
                return IsAliveLocked();
            }
        }
    }

    /// <summary>True between <see cref="Pause"/> and <see cref="Resume"/> (or a kill).</summary>
    public bool IsPaused
    {
        get
        {
            lock (_gate)
            {
                return _paused && IsAliveLocked();
            }
        }
    }

    /// <summary>What memcached has written to its standard error and output so far (the last 16 K characters at most).</summary>
    public string CapturedOutput
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>
    /// Starts memcached and returns once it answers on TCP. With <see cref="MemcachedProcessOptions.Port"/> 0 a free
    /// port is picked, and picked again (a bounded number of times) if another process takes it first.
    /// </summary>
    /// <param name="options">How to launch it; null for the defaults (127.0.0.1, free port, 64 MB, 2 threads).</param>
    /// <param name="ct">Cancels the start; the half-started process is killed.</param>
    /// <exception cref="ArgumentException">An option is out of range, or the bind address is not loopback.</exception>
    /// <exception cref="InvalidOperationException">memcached could not be started or exited; the message holds its stderr.</exception>
    /// <exception cref="TimeoutException">memcached did not accept connections within the start timeout.</exception>
    public static async Task<MemcachedProcess> StartAsync(MemcachedProcessOptions? options = null, CancellationToken ct = default)
    {
        options ??= new MemcachedProcessOptions();
        Validate(options);
        var address = Loopback.Parse(options.BindAddress, nameof(options));
        var server = new MemcachedProcess(options, address);
        Live.TryAdd(server, 0);
        try
        {
            await server.LaunchAsync(pickFreshPort: options.Port == 0, retrySamePort: false, ct).ConfigureAwait(false);
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    /// <summary>Kills memcached with SIGKILL (a crash: no goodbye to clients) and waits for it to exit. Does nothing if it is not running.</summary>
    public void Kill()
    {
        lock (_gate)
        {
            KillLocked();
        }
    }

    /// <summary>
    /// Stops memcached with SIGSTOP: it keeps its sockets, so connects still succeed and requests are queued by the
    /// kernel, but nothing is answered until <see cref="Resume"/> (a hung server, as opposed to a dead one).
    /// </summary>
    /// <exception cref="InvalidOperationException">memcached is not running.</exception>
    public void Pause()
    {
        lock (_gate)
        {
            SignalLocked(NativeMethods.SigStop, "pause");
            _paused = true;
            WaitForState(stopped: true);
        }
    }

    /// <summary>Continues a paused memcached with SIGCONT; the requests queued meanwhile are then answered.</summary>
    /// <exception cref="InvalidOperationException">memcached is not running.</exception>
    public void Resume()
    {
        lock (_gate)
        {
            SignalLocked(NativeMethods.SigCont, "resume");
            _paused = false;
            WaitForState(stopped: false);
        }
    }

    /// <summary>
    /// Kills memcached if it is running and starts a new one on the same address and port, with an empty cache,
    /// returning once it answers on TCP: a server that crashed and came back.
    /// </summary>
    /// <param name="ct">Cancels the restart; the half-started process is killed.</param>
    /// <exception cref="ObjectDisposedException">This instance was disposed.</exception>
    /// <exception cref="InvalidOperationException">memcached could not be started again; the message holds its stderr.</exception>
    /// <exception cref="TimeoutException">memcached did not accept connections within the start timeout.</exception>
    public async Task RestartAsync(CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        Kill();
        await LaunchAsync(pickFreshPort: false, retrySamePort: true, ct).ConfigureAwait(false);
    }

    /// <summary>Resumes memcached if paused, kills it and waits for it to exit. Never throws; safe to call twice.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            lock (_gate)
            {
                if (_paused && IsAliveLocked())
                {
                    // SIGKILL ends a stopped process too; continuing it first just keeps its exit ordinary.
                    NativeMethods.TrySignal(_pid, NativeMethods.SigCont, out _);
                }

                KillLocked();
                _process?.Dispose();
                _process = null;
            }
        }
#pragma warning disable CA1031 // Disposal runs in finally blocks and at exit: it must not throw.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
        finally
        {
            Live.TryRemove(this, out _);
        }
    }

    /// <summary>Same as <see cref="Dispose"/>.</summary>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public override string ToString() => $"memcached {EndPoint} (pid {Pid})";

    private static void Validate(MemcachedProcessOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(options.Port, nameof(options));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.Port, 65535, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MemoryMegabytes, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Threads, 1, nameof(options));
        if (options.MaxItemSize is { } max)
        {
            // memcached's own limits for -I: at least 1 KiB, at most 1 GiB.
            ArgumentOutOfRangeException.ThrowIfLessThan(max, 1024, nameof(options));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(max, 1024 * 1024 * 1024, nameof(options));
        }

        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.StartTimeout, TimeSpan.Zero, nameof(options));
        ArgumentException.ThrowIfNullOrWhiteSpace(options.ExecutablePath, nameof(options));
        ArgumentNullException.ThrowIfNull(options.ExtraArguments, nameof(options));
        ArgumentNullException.ThrowIfNull(options.TimeProvider, nameof(options));
    }

    private static void KillAllStarted()
    {
        foreach (var server in Live.Keys)
        {
            server.Dispose();
        }
    }

    private static int PickFreePort(IPAddress address)
    {
        // The kernel hands out a free ephemeral port for port 0; we release it at once and hope memcached gets it
        // before anyone else does. The rare loss of that race shows as a bind failure, which LaunchAsync retries.
        using var probe = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(address, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    private static bool IsBindCollision(string output) =>
        output.Contains("Address already in use", StringComparison.OrdinalIgnoreCase)
        || output.Contains("failed to listen", StringComparison.OrdinalIgnoreCase);

    /// <summary>Starts memcached and waits until it answers.</summary>
    /// <param name="pickFreshPort">Pick a free port first, and another one after a bind collision.</param>
    /// <param name="retrySamePort">After a bind collision on a fixed port, try the same port again after a pause
    /// (a restart, whose port was free a moment ago); a port the caller chose and someone holds fails at once.</param>
    /// <param name="ct">Cancels the start.</param>
    private async Task LaunchAsync(bool pickFreshPort, bool retrySamePort, CancellationToken ct)
    {
        var time = _options.TimeProvider;
        for (var attempt = 1; ; attempt++)
        {
            ct.ThrowIfCancellationRequested();
            if (pickFreshPort)
            {
                Port = PickFreePort(_address);
            }

            var process = StartProcess();
            bool accepting;
            try
            {
                accepting = await WaitUntilAcceptingAsync(process, ct).ConfigureAwait(false);
            }
            catch
            {
                Kill();
                throw;
            }

            if (accepting)
            {
                if (Volatile.Read(ref _disposed) != 0)
                {
                    // Disposed while we were starting: do not leave the fresh server behind.
                    Kill();
                    throw new ObjectDisposedException(nameof(MemcachedProcess));
                }

                return;
            }

            if (!process.HasExited)
            {
                Kill();
                throw new TimeoutException(
                    $"memcached on {EndPoint} did not accept connections within {_options.StartTimeout.TotalSeconds:0.#} s. Its output: {Describe(CapturedOutput)}");
            }

            // Wait for the redirected streams to drain so the error message has memcached's own words.
            using (var drain = new CancellationTokenSource(ExitWait, time))
            {
                try
                {
                    await process.WaitForExitAsync(drain.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }
            }

            var output = CapturedOutput;
            if ((pickFreshPort || retrySamePort) && IsBindCollision(output) && attempt < MaxLaunchAttempts)
            {
                // Someone took the port between our probe and memcached's bind (or, on restart, still holds it).
                ClearOutput();
                if (!pickFreshPort)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt), time, ct).ConfigureAwait(false);
                }

                continue;
            }

            throw new InvalidOperationException(
                $"memcached on {EndPoint} exited with code {process.ExitCode.ToString(CultureInfo.InvariantCulture)} before accepting connections. Its output: {Describe(output)}");
        }
    }

    private Process StartProcess()
    {
        var info = new ProcessStartInfo(_options.ExecutablePath)
        {
            UseShellExecute = false,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            RedirectStandardInput = false,
            CreateNoWindow = true,
        };

        // -U 0: no UDP listener (nothing here uses it, and it would be one more port to collide on).
        info.ArgumentList.Add("-U");
        info.ArgumentList.Add("0");
        info.ArgumentList.Add("-l");
        info.ArgumentList.Add(Host);
        info.ArgumentList.Add("-p");
        info.ArgumentList.Add(Port.ToString(CultureInfo.InvariantCulture));
        info.ArgumentList.Add("-m");
        info.ArgumentList.Add(_options.MemoryMegabytes.ToString(CultureInfo.InvariantCulture));
        info.ArgumentList.Add("-t");
        info.ArgumentList.Add(_options.Threads.ToString(CultureInfo.InvariantCulture));
        if (_options.MaxItemSize is { } maxItemSize)
        {
            info.ArgumentList.Add("-I");
            info.ArgumentList.Add(maxItemSize.ToString(CultureInfo.InvariantCulture));
        }

        if (NativeMethods.IsRoot())
        {
            // memcached refuses to start as root unless told which user to run as.
            info.ArgumentList.Add("-u");
            info.ArgumentList.Add("root");
        }

        if (_options.TlsCertificateFile is { } certificate)
        {
            info.ArgumentList.Add("-Z");
            info.ArgumentList.Add("-o");
            info.ArgumentList.Add(_options.TlsKeyFile is { } key ? $"ssl_chain_cert={certificate},ssl_key={key}" : $"ssl_chain_cert={certificate}");
        }

        if (_options.AuthFile is { } authFile)
        {
            info.ArgumentList.Add("-Y");
            info.ArgumentList.Add(authFile);
        }

        foreach (var argument in _options.ExtraArguments)
        {
            info.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.ErrorDataReceived += (_, e) => Capture(e.Data);
        process.OutputDataReceived += (_, e) => Capture(e.Data);
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            process.Dispose();
            throw new InvalidOperationException(
                $"Could not start memcached from '{_options.ExecutablePath}': {e.Message}. Install memcached or set {nameof(MemcachedProcessOptions.ExecutablePath)}.",
                e);
        }

        lock (_gate)
        {
            _process?.Dispose();
            _process = process;
            _paused = false;
            Volatile.Write(ref _pid, process.Id);
        }

        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return process;
    }

    /// <summary>Polls until memcached answers <c>version</c>, it exits (false), or the start timeout passes (false).</summary>
    private async Task<bool> WaitUntilAcceptingAsync(Process process, CancellationToken ct)
    {
        var time = _options.TimeProvider;
        var started = time.GetTimestamp();
        // Bounded by the clock and, should the clock not move (a fake one), by a count of probes as well.
        var maxProbes = (int)Math.Min(100_000, (_options.StartTimeout.Ticks / ProbeInterval.Ticks) + 1);
        for (var probe = 0; probe < maxProbes && time.GetElapsedTime(started) < _options.StartTimeout; probe++)
        {
            if (process.HasExited)
            {
                return false;
            }

            if (await AnswersVersionAsync(ct).ConfigureAwait(false) && !process.HasExited)
            {
                return true;
            }

            await Task.Delay(ProbeInterval, time, ct).ConfigureAwait(false);
        }

        return false;
    }

    /// <summary>
    /// Asks <c>version</c> rather than only connecting, so that the server answering is a working memcached and not
    /// merely a listening socket (which could belong to whoever won a port race). Over TLS when the server was started
    /// with it (any certificate is accepted: this only checks that the server is up); a server started with an auth
    /// file answers <c>CLIENT_ERROR unauthenticated</c>, which counts as up.
    /// </summary>
    private async Task<bool> AnswersVersionAsync(CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromMilliseconds(_options.TlsCertificateFile is null ? 500 : 2000));
        using var socket = new Socket(_address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(_address, Port), timeout.Token).ConfigureAwait(false);
            Stream stream = new NetworkStream(socket, ownsSocket: false);
            await using var disposeStream = stream.ConfigureAwait(false);
            if (_options.TlsCertificateFile is not null)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false, static (_, _, _, _) => true);
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = Host }, timeout.Token).ConfigureAwait(false);
                stream = ssl;
            }

            await stream.WriteAsync("version\r\n"u8.ToArray(), timeout.Token).ConfigureAwait(false);
            var buffer = new byte[64];
            var received = 0;
            // A version line is well under 64 bytes; stop at the first CRLF or a full buffer.
            while (received < buffer.Length)
            {
                var n = await stream.ReadAsync(buffer.AsMemory(received), timeout.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    return false;
                }

                received += n;
                if (buffer.AsSpan(0, received).IndexOf("\r\n"u8) >= 0)
                {
                    break;
                }
            }

            var answer = buffer.AsSpan(0, received);
            return answer.StartsWith("VERSION "u8) || (_options.AuthFile is not null && answer.StartsWith("CLIENT_ERROR unauthenticated"u8));
        }
        catch (Exception error) when (error is SocketException or IOException or System.Security.Authentication.AuthenticationException)
        {
            return false;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return false;
        }
    }

    private void Capture(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
            if (_output.Length > MaxCapturedOutputChars)
            {
                _output.Remove(0, _output.Length - MaxCapturedOutputChars);
            }
        }
    }

    private void ClearOutput()
    {
        lock (_output)
        {
            _output.Clear();
        }
    }

    private static string Describe(string output) =>
        string.IsNullOrWhiteSpace(output) ? "(nothing)" : output.Trim();

    private bool IsAliveLocked()
    {
        try
        {
            return _process is { } process && !process.HasExited;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private void KillLocked()
    {
        _paused = false;
        if (!IsAliveLocked())
        {
            return;
        }

        var process = _process!;
        // Checked alive just above, so the pid is still ours (it cannot be reused before we reap it).
        if (!NativeMethods.TrySignal(process.Id, NativeMethods.SigKill, out _))
        {
            try
            {
                process.Kill();
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
        }

        process.WaitForExit(ExitWait);
    }

    private void SignalLocked(int signal, string what)
    {
        if (!IsAliveLocked())
        {
            throw new InvalidOperationException($"Cannot {what} memcached on {EndPoint}: it is not running.");
        }

        if (!NativeMethods.TrySignal(_process!.Id, signal, out var errno))
        {
            throw new InvalidOperationException($"Cannot {what} memcached on {EndPoint} (pid {_pid}): kill() failed with errno {errno}.");
        }
    }

    /// <summary>
    /// Signals are delivered asynchronously; waiting (briefly, bounded) until <c>/proc</c> shows the new state makes
    /// Pause and Resume take effect by the time they return, which keeps tests that rely on them deterministic.
    /// </summary>
    private void WaitForState(bool stopped)
    {
        var statPath = $"/proc/{_pid.ToString(CultureInfo.InvariantCulture)}/stat";
        for (var i = 0; i < 200; i++)
        {
            string stat;
            try
            {
                stat = File.ReadAllText(statPath);
            }
            catch (IOException)
            {
                return;
            }
            catch (UnauthorizedAccessException)
            {
                return;
            }

            // Format: "pid (comm) S ..."; the state letter follows the last ')'.
            var close = stat.LastIndexOf(')');
            if (close < 0 || close + 2 >= stat.Length)
            {
                return;
            }

            var state = stat[close + 2];
            var isStopped = state is 'T' or 't';
            if (isStopped == stopped)
            {
                return;
            }

            Thread.Sleep(1);
        }
    }
}
