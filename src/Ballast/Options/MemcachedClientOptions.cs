using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ballast;

/// <summary>
/// Everything a <see cref="MemcachedClient"/> needs: its servers, how keys are distributed over them, connection
/// settings and the failure handling. Every default is stated and every value is range-checked when the client is
/// created.
/// </summary>
public sealed class MemcachedClientOptions
{
    /// <summary>The pool's servers, <c>host:port[:weight]</c>. Required; order matters to some distributions, as in PHP.</summary>
    public IList<ServerEndPoint> Servers { get; private set; } = [];

    /// <summary>How keys map to servers. Default <see cref="KeyDistribution.Ketama"/>.</summary>
    public KeyDistribution Distribution { get; set; } = KeyDistribution.Ketama;

    /// <summary>The key hash of the PECL distributions. Default <see cref="PeclHashFunction.Crc32"/>.</summary>
    public PeclHashFunction PeclHash { get; set; } = PeclHashFunction.Crc32;

    /// <summary>What to do with keys that contain spaces or control characters. Default <see cref="Ballast.InvalidKeyHandling.Reject"/>.</summary>
    public InvalidKeyHandling InvalidKeyHandling { get; set; } = InvalidKeyHandling.Reject;

    /// <summary>Pipelined connections per server; callers share them. Default 2; 1 to 64.</summary>
    public int ConnectionsPerServer { get; set; } = 2;

    /// <summary>How long a connection attempt may take. Default 1 s; 10 ms to 1 min.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a request may wait for its answer before its connection is closed. Default 1 s; 10 ms to 1 min.</summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The servers' item size limit (memcached's <c>-I</c>); larger values are refused before sending. Default 1 MiB.</summary>
    public int MaxItemSize { get; set; } = 1024 * 1024;

    /// <summary>
    /// Bytes a connection may hold waiting to be sent (requests formatted while an earlier send is still under way, as
    /// when a server stops reading). A request that would go past it fails at once with a
    /// <see cref="ServerUnavailableException"/> instead of queueing memory without bound. Default 16 MiB; 64 KiB to 1 GiB,
    /// and at least twice <see cref="MaxItemSize"/> is advisable so one large value fits beside others.
    /// </summary>
    public int MaxPendingSendBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>TLS for every connection (memcached <c>-Z</c>). Default off.</summary>
    public TlsOptions Tls { get; private set; } = new();

    /// <summary>
    /// Credentials for memcached's ASCII authentication (<c>-Y</c>), sent on each new connection before any request.
    /// Default null: none. Without <see cref="TlsOptions.Enabled"/> the password is sent in clear text.
    /// </summary>
    public MemcachedCredentials? Credentials { get; set; }

    /// <summary>
    /// Where to open connections for a server, when that is not the server's own address: a local proxy, a tunnel,
    /// or a fault-injecting proxy in tests. The server's own <c>host:port</c> still decides key placement and names it
    /// in the shared view and in errors, so frontends that reach the same servers by different routes agree on where
    /// every key lives. Default null: connect to the server itself.
    /// </summary>
    public Func<ServerEndPoint, ServerEndPoint>? ConnectVia { get; set; }

    /// <summary>What the pool does with a down server's keys. Default <see cref="FailoverPolicy.Offline"/>.</summary>
    public FailoverPolicy FailoverPolicy { get; set; } = FailoverPolicy.Offline;

    /// <summary>Failure detection and probing.</summary>
    public FailureDetectionOptions FailureDetection { get; private set; } = new();

    /// <summary>The view of server health shared by every frontend of the pool.</summary>
    public SharedViewOptions SharedView { get; private set; } = new();

    /// <summary>Readmission of returning servers.</summary>
    public FailbackOptions Failback { get; private set; } = new();

    /// <summary>The gutter pool, under <see cref="FailoverPolicy.Gutter"/>.</summary>
    public GutterOptions Gutter { get; private set; } = new();

    /// <summary>Replication, under <see cref="FailoverPolicy.Replicated"/>.</summary>
    public ReplicationOptions Replication { get; private set; } = new();

    /// <summary>Confirmation and retry of invalidations.</summary>
    public InvalidationOptions Invalidation { get; private set; } = new();

    /// <summary>Stampede protection of <c>GetOrCreateAsync</c>.</summary>
    public GetOrCreateOptions GetOrCreate { get; } = new();

    /// <summary>
    /// Where the client logs failures, fences, failbacks and journal retries (category <c>Ballast</c>; events listed
    /// in <c>docs/observability.md</c>). Default null: the client logs nothing. <c>AddBallast</c> sets the host's.
    /// </summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>
    /// How <c>GetOrCreateAsync</c> serializes values with System.Text.Json. Default null: <see cref="JsonSerializerOptions.Default"/>.
    /// For native AOT, give options whose <see cref="JsonSerializerOptions.TypeInfoResolver"/> is a source-generated
    /// context, or pass a <see cref="System.Text.Json.Serialization.Metadata.JsonTypeInfo{T}"/> to each call.
    /// </summary>
    public JsonSerializerOptions? JsonSerializerOptions { get; set; }

    /// <summary>
    /// The transport, randomness and frontend id the client draws on: production's by default; a simulated frontend's
    /// under the simulator (Ballast.Simulation). Copied by reference with the options.
    /// </summary>
    internal Runtime.ClientRuntime Runtime { get; set; } = Ballast.Runtime.ClientRuntime.Default;

    /// <summary>
    /// How the typed calls (<c>GetAsync&lt;T&gt;</c>, <c>SetAsync&lt;T&gt;</c>, <c>SetManyAsync&lt;T&gt;</c>) turn values into
    /// bytes. Default null: <see cref="JsonMemcachedSerializer"/> with <see cref="JsonSerializerOptions"/>.
    /// <c>GetOrCreateAsync</c> always uses System.Text.Json.
    /// </summary>
    public IMemcachedSerializer? Serializer { get; set; }

    /// <summary>
    /// Prepended to every key of every operation, placement included (<c>"app1:"</c>: the key <c>user:7</c> is stored
    /// and located as <c>app1:user:7</c>), so applications sharing a pool keep apart. Results of batch calls are keyed
    /// by the keys as given, without the prefix; errors and logs show the whole key, as the servers hold it. Keys the
    /// Ballast reserves (under <c>ballast:</c>, where every pool keeps its view) are refused with the prefix applied. Default null: none. It follows
    /// the rules of a key (no spaces or control characters unless <see cref="InvalidKeyHandling"/> is
    /// <see cref="Ballast.InvalidKeyHandling.Base64"/>; at most 250 bytes of UTF-8, and the longer it is, the shorter keys
    /// must be). PHP frontends of the same pool must add it themselves.
    /// </summary>
    public string? KeyPrefix { get; set; }

    /// <summary>The logger of <see cref="LoggerFactory"/>, or one that discards everything.</summary>
    internal ILogger Logger => _logger ??= LoggerFactory?.CreateLogger("Ballast") ?? NullLogger.Instance;

    private ILogger? _logger;

    /// <summary>Creates options for a comma-separated server list, <c>host:port[:weight],...</c>.</summary>
    public static MemcachedClientOptions ForServers(string servers)
    {
        var options = new MemcachedClientOptions();
        foreach (var server in ServerEndPoint.ParseList(servers))
        {
            options.Servers.Add(server);
        }

        return options;
    }

    /// <summary>
    /// A copy that the client keeps, so edits to these options after the client is built have no effect on it (a
    /// pool whose servers or bound changed under it would place keys and read the view inconsistently).
    /// </summary>
    internal MemcachedClientOptions Snapshot()
    {
        var copy = (MemcachedClientOptions)MemberwiseClone();
        copy.Servers = [.. Servers];
        copy.FailureDetection = FailureDetection.Copy();
        copy.SharedView = SharedView.Copy();
        copy.Failback = Failback.Copy();
        copy.Gutter = Gutter.Copy();
        copy.Replication = Replication.Copy();
        copy.Invalidation = Invalidation.Copy();
        copy.Tls = Tls.Copy();
        return copy;
    }

    /// <summary>
    /// Checks every option as the client's constructor does (and <c>AddBallast</c> at start-up): at least one server,
    /// no server twice, every value within its stated range.
    /// </summary>
    /// <exception cref="ArgumentException">An option is out of range; the message and <see cref="ArgumentException.ParamName"/> name it.</exception>
    public void Validate()
    {
        if (Servers.Count == 0)
        {
            throw new ArgumentException("A pool needs at least one server (MemcachedClientOptions.Servers).", nameof(Servers));
        }

        var duplicate = Servers.GroupBy(s => s.ToString(), StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"Server {duplicate.Key} is listed twice.", nameof(Servers));
        }

        if (!string.IsNullOrEmpty(KeyPrefix))
        {
            try
            {
                Protocol.CacheKey.Create(KeyPrefix, InvalidKeyHandling);
            }
            catch (InvalidCacheKeyException error)
            {
                throw new ArgumentException($"KeyPrefix breaks the rules of a key, which it starts: {error.Message}", nameof(KeyPrefix), error);
            }

            if (KeyPrefix.StartsWith(Protocol.ReservedKeys.ApplicationPrefix, StringComparison.Ordinal))
            {
                throw new ArgumentException($"KeyPrefix '{KeyPrefix}' starts with '{Protocol.ReservedKeys.ApplicationPrefix}', which Ballast reserves for the shared views and locks of its pools: every key would be refused.", nameof(KeyPrefix));
            }
        }

        OptionChecks.Range(ConnectionsPerServer, 1, 64, nameof(ConnectionsPerServer));
        OptionChecks.Range(ConnectTimeout, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(1), nameof(ConnectTimeout));
        OptionChecks.Range(OperationTimeout, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(1), nameof(OperationTimeout));
        OptionChecks.Range(MaxItemSize, 1024, 1024 * 1024 * 1024, nameof(MaxItemSize));
        OptionChecks.Range(MaxPendingSendBytes, 64 * 1024, 1024 * 1024 * 1024, nameof(MaxPendingSendBytes));
        Tls.Validate();
        FailureDetection.Validate();
        SharedView.Validate();
        Failback.Validate();
        Gutter.Validate(FailoverPolicy);
        Replication.Validate(FailoverPolicy, Servers.Count);
        Invalidation.Validate();
        GetOrCreate.Validate();
    }
}
