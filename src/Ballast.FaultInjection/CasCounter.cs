using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Ballast.FaultInjection;

/// <summary>
/// Reads and moves a memcached server's CAS counter over a direct connection of its own (no proxy, no client library).
/// memcached numbers every item change from one counter per process, starting at 1 again when the process restarts:
/// a refill lease (a placeholder's CAS) taken before a restart can meet a new placeholder of the same key with the
/// same CAS once the restarted server's counter has come round to it. A busy server gets there by itself, eventually;
/// this gets there at once and exactly, so a test or a chaos fault can make that moment happen on purpose.
/// </summary>
/// <remarks>
/// memcached 1.6.18 has no meta flag that sets a CAS (<c>E</c> came later), so the counter is moved by storing a
/// scratch item over and over (quiet meta sets, pipelined in batches). Other clients' changes on the same server take
/// numbers from the same counter meanwhile; <see cref="VivifyAtAsync"/> sends its last set and the vivifying read in
/// one write, which memcached runs back to back, and reports the CAS the placeholder really got.
/// </remarks>
public static class CasCounter
{
    /// <summary>The scratch key whose stores move the counter.</summary>
    public const string ScratchKey = "ballast-fault-injection:cas-scratch";

    private const int Batch = 2000;

    /// <summary>How close the counter is brought before the last stores go out in one write with the vivifying read.</summary>
    private const ulong LastStretch = 16;

    /// <summary>Uses one number (a store of the scratch item) and returns it: the counter's value now.</summary>
    /// <param name="host">The server's loopback address.</param>
    /// <param name="port">The server's port.</param>
    /// <param name="ct">Cancels the exchange.</param>
    /// <exception cref="IOException">The server did not answer as memcached does.</exception>
    public static async Task<ulong> TakeAsync(string host, int port, CancellationToken ct = default)
    {
        using var link = await Link.OpenAsync(host, port, ct).ConfigureAwait(false);
        return await link.TakeAsync(ct).ConfigureAwait(false);
    }

    /// <summary>The CAS of <paramref name="key"/>'s item (a lease placeholder included); null when there is none.</summary>
    /// <param name="host">The server's loopback address.</param>
    /// <param name="port">The server's port.</param>
    /// <param name="key">The key.</param>
    /// <param name="ct">Cancels the exchange.</param>
    /// <exception cref="IOException">The server did not answer as memcached does.</exception>
    public static async Task<ulong?> ReadItemCasAsync(string host, int port, string key, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        using var link = await Link.OpenAsync(host, port, ct).ConfigureAwait(false);
        var line = await link.ExchangeAsync($"mg {key} c\r\n", ct).ConfigureAwait(false);
        return line.StartsWith("EN", StringComparison.Ordinal) ? null : Link.CasOf(line);
    }

    /// <summary>
    /// Stores the scratch item until the counter's next number is <paramref name="next"/>; false when it is already
    /// past it (the counter only goes up).
    /// </summary>
    /// <param name="host">The server's loopback address.</param>
    /// <param name="port">The server's port.</param>
    /// <param name="next">The number the next item change on the server gets.</param>
    /// <param name="ct">Cancels the exchange.</param>
    /// <exception cref="IOException">The server did not answer as memcached does.</exception>
    public static async Task<bool> AdvanceToAsync(string host, int port, ulong next, CancellationToken ct = default)
    {
        using var link = await Link.OpenAsync(host, port, ct).ConfigureAwait(false);
        if (await ApproachAsync(link, next, ct).ConfigureAwait(false) is not { } now)
        {
            return false;
        }

        await link.StoreQuietlyAsync(next - 1 - now, ct).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Brings the counter to <paramref name="cas"/> - 1 and, in the same write, vivifies <paramref name="key"/>
    /// (<c>mg key N</c>, the read a Ballast refill sends): a new lease placeholder of the key, which should get
    /// <paramref name="cas"/>. Returns the CAS the placeholder got (another client's change on the server can take a
    /// number in between), or null when the counter was already past <paramref name="cas"/> or the key exists.
    /// </summary>
    /// <param name="host">The server's loopback address.</param>
    /// <param name="port">The server's port.</param>
    /// <param name="key">The key to vivify; it must be absent.</param>
    /// <param name="cas">The CAS the placeholder should get.</param>
    /// <param name="leaseSeconds">The placeholder's time to live. Default 30 s.</param>
    /// <param name="ct">Cancels the exchange.</param>
    /// <exception cref="IOException">The server did not answer as memcached does.</exception>
    public static async Task<ulong?> VivifyAtAsync(string host, int port, string key, ulong cas, int leaseSeconds = 30, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentOutOfRangeException.ThrowIfLessThan(leaseSeconds, 1);
        using var link = await Link.OpenAsync(host, port, ct).ConfigureAwait(false);
        if (await ApproachAsync(link, cas, ct).ConfigureAwait(false) is not { } now)
        {
            return null;
        }

        // The last few stores and the vivifying read in one write: memcached runs one connection's requests in order,
        // so only another connection's change landing in that moment can take the number.
        var request = new StringBuilder();
        for (var i = now + 1; i < cas; i++)
        {
            request.Append(Link.QuietStore);
        }

        request.Append(CultureInfo.InvariantCulture, $"mg {key} N{leaseSeconds} c\r\n");
        var line = await link.ExchangeAsync(request.ToString(), ct).ConfigureAwait(false);
        return line.Contains(" W", StringComparison.Ordinal) ? Link.CasOf(line) : null;
    }

    /// <summary>
    /// Moves the counter to within <see cref="LastStretch"/> numbers below <paramref name="target"/>, reading it again
    /// after each batch (a busy server's other clients take numbers meanwhile), and returns its value then; null when
    /// it is at or past <paramref name="target"/>.
    /// </summary>
    private static async Task<ulong?> ApproachAsync(Link link, ulong target, CancellationToken ct)
    {
        // Bounded: each round closes the gap to the last stretch unless other clients took more than it meanwhile.
        for (var round = 0; round < 1000; round++)
        {
            var now = await link.TakeAsync(ct).ConfigureAwait(false);
            if (now >= target)
            {
                return null;
            }

            var gap = target - 1 - now;
            if (gap <= LastStretch)
            {
                return now;
            }

            await link.StoreQuietlyAsync(gap - LastStretch, ct).ConfigureAwait(false);
        }

        return null;
    }

    /// <summary>One text connection to one server: a line-oriented exchange of meta commands.</summary>
    private sealed class Link : IDisposable
    {
        public const string QuietStore = "ms " + ScratchKey + " 1 q\r\nx\r\n";

        private readonly Socket _socket;
        private readonly NetworkStream _stream;
        private readonly StreamReader _reader;

        private Link(Socket socket)
        {
            _socket = socket;
            _stream = new NetworkStream(socket, ownsSocket: false);
            _reader = new StreamReader(_stream, Encoding.ASCII);
        }

        public static async Task<Link> OpenAsync(string host, int port, CancellationToken ct)
        {
            var address = Loopback.Parse(host, nameof(host));
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(5));
                await socket.ConnectAsync(new IPEndPoint(address, port), timeout.Token).ConfigureAwait(false);
                return new Link(socket);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        /// <summary>A store that answers with its CAS: the counter's value after it.</summary>
        public async Task<ulong> TakeAsync(CancellationToken ct)
            => CasOf(await ExchangeAsync("ms " + ScratchKey + " 1 c\r\nx\r\n", ct).ConfigureAwait(false));

        /// <summary>Stores the scratch item <paramref name="count"/> times, quietly, in pipelined batches.</summary>
        public async Task StoreQuietlyAsync(ulong count, CancellationToken ct)
        {
            var batch = new StringBuilder();
            while (count > 0)
            {
                var n = (int)Math.Min(count, Batch);
                batch.Clear();
                for (var i = 0; i < n; i++)
                {
                    batch.Append(QuietStore);
                }

                // mn answers after every quiet request before it: the batch has been applied when it does.
                var line = await ExchangeAsync(batch.Append("mn\r\n").ToString(), ct).ConfigureAwait(false);
                if (line != "MN")
                {
                    throw new IOException($"memcached answered '{line}' to a quiet store of {ScratchKey}.");
                }

                count -= (ulong)n;
            }
        }

        /// <summary>Sends <paramref name="request"/> and returns the first answer line.</summary>
        public async Task<string> ExchangeAsync(string request, CancellationToken ct)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            await _stream.WriteAsync(Encoding.ASCII.GetBytes(request), timeout.Token).ConfigureAwait(false);
            var line = await _reader.ReadLineAsync(timeout.Token).ConfigureAwait(false)
                ?? throw new IOException("memcached closed the connection.");
            if (line.StartsWith("VA ", StringComparison.Ordinal))
            {
                // A value line is followed by its data line (empty for a placeholder).
                await _reader.ReadLineAsync(timeout.Token).ConfigureAwait(false);
            }

            return line;
        }

        /// <summary>The <c>c</c> flag's number in a meta answer line.</summary>
        public static ulong CasOf(string line)
        {
            foreach (var token in line.Split(' '))
            {
                if (token.Length > 1 && token[0] == 'c' && ulong.TryParse(token.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var cas))
                {
                    return cas;
                }
            }

            throw new IOException($"memcached answered '{line}' where a CAS was expected.");
        }

        public void Dispose()
        {
            _reader.Dispose();
            _stream.Dispose();
            _socket.Dispose();
        }
    }
}
