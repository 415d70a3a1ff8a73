using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Ballast.FaultInjection;

namespace Ballast.Cli.Chaos;

/// <summary>How many times a server had been flushed by a moment of the run (memcached's own <c>cmd_flush</c>).</summary>
/// <param name="Server">The main server's index.</param>
/// <param name="AtMs">When it was read, ms since the run started.</param>
/// <param name="Flushes">Flushes since the server first started, across its restarts.</param>
public readonly record struct FlushSample(int Server, double AtMs, long Flushes);

/// <summary>
/// Reads every main server's <c>cmd_flush</c> straight from the server (its own connection, no proxy, no client
/// library) every 100 ms while the run lasts. A restart (a new process) starts memcached's count at 0 again; the
/// monitor carries the earlier process's count over, so a sample counts every flush since the server first started.
/// A paused or dead server is skipped until it answers again: its flushes are seen late, never lost (except those
/// between the last read and a kill, which a restarted server makes moot).
/// </summary>
public sealed class FlushMonitor
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromMilliseconds(300);

    private readonly IReadOnlyList<MemcachedProcess> _servers;
    private readonly RunClock _clock;
    private readonly List<FlushSample> _samples = [];

    /// <summary>Watches <paramref name="servers"/>, timed on <paramref name="clock"/>.</summary>
    public FlushMonitor(IReadOnlyList<MemcachedProcess> servers, RunClock clock)
    {
        _servers = servers;
        _clock = clock;
    }

    /// <summary>The samples so far, in time order (one per server per read that changed nothing is not kept).</summary>
    public IReadOnlyList<FlushSample> Samples
    {
        get
        {
            lock (_samples)
            {
                return _samples.ToArray();
            }
        }
    }

    /// <summary>Reads every server every 100 ms until <paramref name="ct"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        var watched = _servers.Select((s, i) => new Watched(i, s)).ToArray();
        try
        {
            while (!ct.IsCancellationRequested)
            {
                foreach (var server in watched)
                {
                    await ReadAsync(server, ct).ConfigureAwait(false);
                }

                await Task.Delay(Interval, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        finally
        {
            foreach (var server in watched)
            {
                server.Close();
            }
        }
    }

    private async Task ReadAsync(Watched server, CancellationToken ct)
    {
        var process = server.Process;
        if (process.IsPaused || !process.IsRunning)
        {
            return;
        }

        if (process.Pid != server.Pid)
        {
            // A new process: its count starts at 0; the old one's flushes still happened.
            server.Close();
            server.Carried += server.Last;
            server.Last = 0;
            server.Pid = process.Pid;
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(ReadTimeout);
            var flushes = await server.ReadFlushesAsync(timeout.Token).ConfigureAwait(false);
            if (flushes != server.Last || server.First)
            {
                server.Last = flushes;
                server.First = false;
                lock (_samples)
                {
                    _samples.Add(new FlushSample(server.Index, _clock.NowMs, server.Carried + flushes));
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            // Not answering now (stopped, restarting, or a slow moment): read again next time.
            server.Close();
        }
    }

    /// <summary>One server's connection and the counts carried over its restarts.</summary>
    private sealed class Watched(int index, MemcachedProcess process)
    {
        private Socket? _socket;
        private NetworkStream? _stream;

        public int Index { get; } = index;

        public MemcachedProcess Process { get; } = process;

        public int Pid { get; set; } = process.Pid;

        public long Carried { get; set; }

        public long Last { get; set; }

        public bool First { get; set; } = true;

        public async Task<long> ReadFlushesAsync(CancellationToken ct)
        {
            if (_stream is null)
            {
                var address = IPAddress.Parse(Process.Host);
                _socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await _socket.ConnectAsync(new IPEndPoint(address, Process.Port), ct).ConfigureAwait(false);
                _stream = new NetworkStream(_socket, ownsSocket: false);
            }

            await _stream.WriteAsync("stats\r\n"u8.ToArray(), ct).ConfigureAwait(false);
            var text = new StringBuilder();
            var buffer = new byte[4096];
            // A stats answer is a few kB and ends with END; bounded by the timeout and by size.
            while (!text.ToString().EndsWith("END\r\n", StringComparison.Ordinal) && text.Length < 64 * 1024)
            {
                var n = await _stream.ReadAsync(buffer, ct).ConfigureAwait(false);
                if (n == 0)
                {
                    throw new IOException("memcached closed the connection.");
                }

                text.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }

            foreach (var line in text.ToString().Split("\r\n"))
            {
                if (line.StartsWith("STAT cmd_flush ", StringComparison.Ordinal))
                {
                    return long.Parse(line.AsSpan("STAT cmd_flush ".Length), NumberStyles.None, CultureInfo.InvariantCulture);
                }
            }

            throw new IOException("memcached's stats had no cmd_flush.");
        }

        public void Close()
        {
            _stream?.Dispose();
            _socket?.Dispose();
            _stream = null;
            _socket = null;
        }
    }
}
