using System.Net;

namespace Ballast.Cli.Monitor;

/// <summary>How <c>ballast monitor</c> runs: where it listens, how often it asks for stats, and its client's options.</summary>
internal sealed class MonitorSettings
{
    /// <summary>The default address of the status page: loopback only, so exposing it is a deliberate choice.</summary>
    public const string DefaultListen = "127.0.0.1:9100";

    /// <summary>The monitor's default operation and connect timeout (the other commands' is 1 s): see <see cref="ConfigureClient"/>.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMilliseconds(500);

    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromSeconds(1);

    /// <summary>The default cap on event streams open at once.</summary>
    public const int DefaultMaxEventStreams = 100;

    /// <summary>The address and port Kestrel listens on (port 0: any free port).</summary>
    public required IPEndPoint Listen { get; init; }

    /// <summary>The pool, as the command line or a test gives it.</summary>
    public required MemcachedClientOptions Client { get; init; }

    /// <summary>How often every reachable server is asked for its stats. Default 1 s.</summary>
    public TimeSpan PollInterval { get; init; } = DefaultPollInterval;

    /// <summary>How many <c>/api/events</c> streams may be open at once; past it a stream gets 503. Default 100.</summary>
    public int MaxEventStreams { get; init; } = DefaultMaxEventStreams;

    /// <summary>
    /// Host names the monitor answers to besides <c>localhost</c>, the loopback addresses and the listen address (see
    /// <see cref="HostAllowList"/>): the names people reach it by when it listens beyond loopback. Default none.
    /// </summary>
    public IReadOnlyList<string> AllowedHosts { get; init; } = [];

    /// <summary>Where the log goes; null for standard error (the command). Tests pass their own.</summary>
    public Microsoft.Extensions.Logging.ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>
    /// The monitor's changes to the client's defaults, for options the command line does not set. A monitor has no
    /// users waiting on it, and its job is to see a stalled server quickly and readmit a returning one promptly:
    /// <list type="bullet">
    /// <item>timeouts of 500 ms: with the view read every 250 ms over two connections per server, three timeouts in a
    /// row (the library's threshold, kept) mark a stalled server down about 1.25 s after it stalls;</item>
    /// <item>probes of a down server at most every 2 s (the library backs off to 10 s): one <c>version</c>, so a server
    /// that returns after a long outage is flushed and readmitted within a few seconds.</item>
    /// </list>
    /// </summary>
    public static void ConfigureClient(MemcachedClientOptions options, bool timeoutGiven)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!timeoutGiven)
        {
            options.OperationTimeout = DefaultTimeout;
            options.ConnectTimeout = DefaultTimeout;
        }

        options.FailureDetection.MaxProbeInterval = TimeSpan.FromSeconds(2);
    }

    /// <summary>Parses <c>host:port</c> (an IPv6 address in brackets); <c>localhost</c> is 127.0.0.1.</summary>
    /// <exception cref="FormatException">Not an address and port.</exception>
    public static IPEndPoint ParseListen(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            throw new FormatException($"'{text}' is not host:port (for example {DefaultListen}).");
        }

        var host = text[..colon].Trim('[', ']');
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            return new IPEndPoint(IPAddress.Loopback, port);
        }

        return IPAddress.TryParse(host, out var address)
            ? new IPEndPoint(address, port)
            : throw new FormatException($"'{host}' in '{text}' is not an IP address (or localhost); the monitor listens on an address of this host.");
    }
}
