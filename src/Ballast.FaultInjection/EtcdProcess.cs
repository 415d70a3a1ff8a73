using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Ballast.FaultInjection;

/// <summary>
/// A real single-member etcd (Debian's <c>etcd-server</c>) running as a child process on 127.0.0.1, on free client and
/// peer ports, with its data in a temporary directory that is deleted when it stops. For the shared view's etcd
/// store: its tests and <c>ballast chaos --view etcd</c>.
/// </summary>
/// <remarks>Every instance is also killed when this process exits, so a run that fails half way leaves no etcd behind.</remarks>
public sealed class EtcdProcess : IAsyncDisposable, IDisposable
{
    private const int MaxLaunchAttempts = 5;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);
    private static readonly ConcurrentDictionary<EtcdProcess, byte> Live = new();

    private readonly StringBuilder _output = new();
    private readonly string _dataDirectory;
    private Process? _process;
    private int _disposed;

    static EtcdProcess()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var etcd in Live.Keys)
            {
                etcd.Dispose();
            }
        };
    }

    private EtcdProcess(string dataDirectory) => _dataDirectory = dataDirectory;

    /// <summary>The client port etcd listens on (127.0.0.1).</summary>
    public int ClientPort { get; private set; }

    /// <summary>The client endpoint, <c>http://127.0.0.1:port</c>, as <c>SharedView.EtcdEndpoints</c> takes it.</summary>
    public string Endpoint => string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{ClientPort}");

    /// <summary>What etcd has written so far (the last 16 K characters at most).</summary>
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

    /// <summary>Starts etcd and returns once it accepts client connections.</summary>
    /// <param name="executablePath">The etcd binary; default <c>etcd</c> on the PATH.</param>
    /// <param name="ct">Cancels the start; the half-started process is killed.</param>
    /// <exception cref="InvalidOperationException">etcd could not be started; the message holds its output.</exception>
    public static async Task<EtcdProcess> StartAsync(string executablePath = "etcd", CancellationToken ct = default)
    {
        var etcd = new EtcdProcess(Directory.CreateTempSubdirectory("ballast-etcd-").FullName);
        Live.TryAdd(etcd, 0);
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                etcd.ClientPort = FreePort();
                var peerPort = FreePort();
                etcd.Launch(executablePath, peerPort);
                if (await etcd.WaitUntilAcceptingAsync(ct).ConfigureAwait(false))
                {
                    return etcd;
                }

                etcd.KillProcess();
                if (attempt >= MaxLaunchAttempts)
                {
                    throw new InvalidOperationException($"etcd did not start on 127.0.0.1 after {attempt} attempts: {etcd.CapturedOutput}");
                }
            }
        }
        catch
        {
            etcd.Dispose();
            throw;
        }
    }

    /// <summary>Kills etcd and deletes its data. Never throws; safe to call twice.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        KillProcess();
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        Live.TryRemove(this, out _);
    }

    /// <summary>Same as <see cref="Dispose"/>.</summary>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public override string ToString() => $"etcd {Endpoint}";

    private static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    private void Launch(string executablePath, int peerPort)
    {
        var client = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{ClientPort}");
        var peer = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{peerPort}");
        var start = new ProcessStartInfo(executablePath)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            "--name", "ballast", "--data-dir", Path.Combine(_dataDirectory, "data"),
            "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", $"ballast={peer}", "--log-level", "error",
        })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {executablePath}.");
        process.OutputDataReceived += (_, e) => Capture(e.Data);
        process.ErrorDataReceived += (_, e) => Capture(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
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
            if (_output.Length > 16 * 1024)
            {
                _output.Remove(0, _output.Length - (16 * 1024));
            }
        }
    }

    private async Task<bool> WaitUntilAcceptingAsync(CancellationToken ct)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(StartTimeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (_process is null || _process.HasExited)
            {
                return false;
            }

            try
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, ClientPort), ct).ConfigureAwait(false);
                return true;
            }
            catch (SocketException)
            {
                await Task.Delay(50, ct).ConfigureAwait(false);
            }
        }

        return false;
    }

    private void KillProcess()
    {
        try
        {
            if (_process is { HasExited: false })
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
        }
        catch (System.ComponentModel.Win32Exception)
        {
        }

        _process?.Dispose();
        _process = null;
    }
}
