using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;

namespace Ballast.Diagnostics;

/// <summary>
/// Ballast's one <see cref="Meter"/> and one <see cref="ActivitySource"/>, shared by every client of the process (as
/// OpenTelemetry expects of a library), and the instruments on it. Nothing is measured while nobody listens: each call
/// site checks <see cref="IsOperationObserved"/> (or the instrument's own <c>Enabled</c>) first.
/// </summary>
/// <remarks>Follows the OpenTelemetry semantic conventions for database client metrics (v1.33, <c>db.client.*</c>).</remarks>
internal static class Instruments
{
    private static readonly string Version = typeof(Instruments).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    // Clients alive in this process, for the observable gauges (journal depth, view age); removed at disposal.
    private static readonly ConcurrentDictionary<IObservedPool, byte> LiveClients = new();

    public static readonly Meter Meter = new(BallastTelemetry.MeterName, Version);

    public static readonly ActivitySource Source = new(BallastTelemetry.ActivitySourceName, Version);

    /// <summary>Semconv's duration histogram; its advised buckets are the semconv ones for database operations.</summary>
    public static readonly Histogram<double> OperationDuration = Meter.CreateHistogram(
        "db.client.operation.duration",
        unit: "s",
        description: "Duration of memcached operations, from the call to its result.",
        tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10] });

    public static readonly Counter<long> Hits = Meter.CreateCounter<long>("ballast.client.hits", "{hit}", "Reads that found their key.");

    public static readonly Counter<long> Misses = Meter.CreateCounter<long>("ballast.client.misses", "{miss}", "Reads that did not find their key, including misses made up for a down, stalled or fenced server.");

    public static readonly Counter<long> Timeouts = Meter.CreateCounter<long>("ballast.client.timeouts", "{timeout}", "Requests that got no answer within the operation timeout (their connection is closed).");

    public static readonly Counter<long> Fences = Meter.CreateCounter<long>("ballast.server.fences", "{fence}", "Servers marked down by this frontend and fenced in the shared view.");

    public static readonly Counter<long> Failbacks = Meter.CreateCounter<long>("ballast.server.failbacks", "{failback}", "Servers readmitted after an outage.");

    public static readonly Counter<long> Flushes = Meter.CreateCounter<long>("ballast.server.flushes", "{flush}", "Flushes (flush_all) this frontend made, by server and reason (ballast.flush.reason: Failback, LostRecord, NewPool, PoolFlushOnFailback, Application).");

    public static readonly Counter<long> ErrorsAbsorbed = Meter.CreateCounter<long>("ballast.client.errors_absorbed", "{error}", "Server errors turned into a miss, false or null (the promise), by server, what they became (ballast.absorbed_as) and error.type.");

    public static readonly Counter<long> JournalRetries = Meter.CreateCounter<long>("ballast.invalidation.retries", "{retry}", "Retries of journaled (unconfirmed) invalidations, tagged with their outcome.");

    static Instruments()
    {
        Meter.CreateObservableGauge("ballast.invalidation.journal.depth", ObserveJournalDepth, "{invalidation}", "Invalidations owed: unconfirmed deletes the journal keeps retrying.");
        Meter.CreateObservableGauge("ballast.view.age", ObserveViewAge, "s", "Time since the shared view was last read from a quorum of servers; reads are misses once it passes the bound.");
    }

    /// <summary>True when anyone listens to a per-operation instrument or span: the one check on the hot path.</summary>
    public static bool IsOperationObserved => OperationDuration.Enabled || Hits.Enabled || Misses.Enabled || Source.HasListeners();

    public static void Register(IObservedPool client) => LiveClients.TryAdd(client, 0);

    public static void Unregister(IObservedPool client) => LiveClients.TryRemove(client, out _);

    /// <summary>Counts a request that timed out (the connection's other faults are counted as fences when they mark the server down).</summary>
    public static void RecordFault(ServerEndPoint server, Connections.ConnectionFault fault)
    {
        if (fault == Connections.ConnectionFault.Timeout && Timeouts.Enabled)
        {
            Timeouts.Add(1, ServerTags(server));
        }
    }

    public static TagList ServerTags(ServerEndPoint server) => new()
    {
        { "db.system.name", BallastTelemetry.DbSystemName },
        { "server.address", server.Host },
        { "server.port", server.Port },
    };

    private static IEnumerable<Measurement<long>> ObserveJournalDepth()
        => LiveClients.Keys.Select(c => new Measurement<long>(c.PendingInvalidationCount, new KeyValuePair<string, object?>("ballast.pool.name", c.PoolName)));

    private static IEnumerable<Measurement<double>> ObserveViewAge()
        => LiveClients.Keys
            .Select(c => (c.PoolName, Age: c.SharedViewAge))
            .Where(v => v.Age is not null)
            .Select(v => new Measurement<double>(v.Age!.Value.TotalSeconds, new KeyValuePair<string, object?>("ballast.pool.name", v.PoolName)));
}
