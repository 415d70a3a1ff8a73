using System.Text.Json;
using System.Text.Json.Serialization;

namespace Ballast.Cli.Chaos;

/// <summary>One policy's measurements. Serialized as one object of <c>ballast chaos --json</c>'s array.</summary>
public sealed class PolicyResult
{
    /// <summary>Reads made by PHP frontends (<c>--php-frontends</c>), included in <see cref="Reads"/>.</summary>
    public int PhpReads { get; init; }

    /// <summary>Stale reads made by PHP frontends, included in <see cref="StaleReads"/>.</summary>
    public int PhpStaleReads { get; init; }

    /// <summary>Stale reads beyond the bound made by PHP frontends, included in <see cref="StaleBeyondBound"/>.</summary>
    public int PhpStaleBeyondBound { get; init; }

    /// <summary>The policy's name.</summary>
    public required string Policy { get; init; }

    /// <summary>The fault kinds of the run.</summary>
    public required IReadOnlyList<string> Faults { get; init; }

    /// <summary>Reads.</summary>
    public int Reads { get; init; }

    /// <summary>Reads served by the cache.</summary>
    public int Hits { get; init; }

    /// <summary>Stale reads (any staleness).</summary>
    public int StaleReads { get; init; }

    /// <summary>Stale reads beyond the policy's bound (every stale read under Rehash).</summary>
    public int StaleBeyondBound { get; init; }

    /// <summary>Reads per read path (<see cref="ReadPaths"/>), so a path the run never took shows as missing.</summary>
    public IReadOnlyDictionary<string, int> ReadsByPath { get; init; } = new Dictionary<string, int>();

    /// <summary>Stale reads beyond the bound per read path.</summary>
    public IReadOnlyDictionary<string, int> StaleBeyondBoundByPath { get; init; } = new Dictionary<string, int>();

    /// <summary>The largest staleness, ms.</summary>
    public double MaxStalenessMs { get; init; }

    /// <summary>Reads served by the database after a miss.</summary>
    public int DbReads { get; init; }

    /// <summary>Exceptions the application saw.</summary>
    public long AppErrors { get; init; }

    /// <summary>Median read latency as the application saw it (cache read, and database read and refill on a miss), ms.</summary>
    public double P50ReadMs { get; init; }

    /// <summary>99th percentile read latency, ms.</summary>
    public double P99ReadMs { get; init; }

    /// <summary>Writes (database update, then delete).</summary>
    public int Writes { get; init; }

    /// <summary>Writes whose delete threw.</summary>
    public int FailedDeletes { get; init; }

    /// <summary>Deletes, sets and refills whose caller gave up mid-flight (<c>--cancel-ratio</c>).</summary>
    public long CancelledCalls { get; init; }

    /// <summary>Counter values handed out (<c>--counter-ratio</c>).</summary>
    public int CounterValues { get; init; }

    /// <summary>Counter values handed out twice within one epoch of the counter's server.</summary>
    public int CounterDuplicates { get; init; }

    /// <summary>Every counter value handed out, for explaining duplicates (not in the JSON).</summary>
    [JsonIgnore]
    public IReadOnlyList<CounterRecord> Counters { get; init; } = [];

    /// <summary>The second handing-out of each duplicated value (not in the JSON).</summary>
    [JsonIgnore]
    public IReadOnlyList<CounterRecord> DuplicateCounters { get; init; } = [];

    /// <summary>Counter index → its server's index (not in the JSON).</summary>
    [JsonIgnore]
    public IReadOnlyList<int> CounterServers { get; init; } = [];

    /// <summary>The bound B, ms; null when the policy promises none (Rehash).</summary>
    public double? BoundMs { get; init; }

    /// <summary>True for the policies that promise integrity (all but Rehash).</summary>
    public bool PromisesIntegrity { get; init; }

    /// <summary>Exceptions by type.</summary>
    public IReadOnlyDictionary<string, int> ErrorsByType { get; init; } = new Dictionary<string, int>();

    /// <summary>The first message of each exception type.</summary>
    public IReadOnlyDictionary<string, string> ErrorSamples { get; init; } = new Dictionary<string, string>();

    /// <summary>The run's length, ms.</summary>
    [JsonIgnore]
    public double DurationMs { get; init; }

    /// <summary>The stale reads, for the timeline.</summary>
    [JsonIgnore]
    public IReadOnlyList<StaleRead> Stale { get; init; } = [];

    /// <summary>The faults as applied.</summary>
    [JsonIgnore]
    public IReadOnlyList<FaultEvent> FaultEvents { get; init; } = [];

    /// <summary>The clients' failure and recovery events.</summary>
    [JsonIgnore]
    public IReadOnlyList<ClientEvent> ClientEvents { get; init; } = [];

    /// <summary>The run in 250 ms bins: reads, hits and failed deletes per bin, for the timeline.</summary>
    [JsonIgnore]
    public IReadOnlyList<TimeBin> Bins { get; init; } = [];

    /// <summary>
    /// For each fault that hits one frontend (partition, slow, lag, blip, restart, stall): that frontend's reads and hits
    /// in the window, beside the other frontends'.
    /// </summary>
    public IReadOnlyList<FaultWindowHits> WindowHits { get; init; } = [];

    /// <summary>Key index → main server index (as frontend 0 places it).</summary>
    [JsonIgnore]
    public IReadOnlyList<int> KeyServers { get; init; } = [];

    /// <summary>
    /// Whether the pool settled after the run: every .NET frontend had every server up and served a key of each
    /// within <see cref="ChaosOptions.SettleTimeout"/>. Null when not checked.
    /// </summary>
    public bool? Settled { get; init; }

    /// <summary>How long after the run the pool took to settle, ms (the timeout when it did not). Null when not checked.</summary>
    public double? SettleMs { get; init; }

    /// <summary>What was still wrong when the pool did not settle.</summary>
    public string? Unsettled { get; init; }

    /// <summary>memcached's own flushes per server over the run (<c>cmd_flush</c>, across restarts), the pool's first start included.</summary>
    public IReadOnlyList<long> FlushesPerServer { get; init; } = [];

    /// <summary>
    /// Servers flushed more often than once per fault that touched them (plus once for the pool's first start): reported,
    /// not a broken promise (see <see cref="FlushCheck.Excess"/>).
    /// </summary>
    public int ExcessFlushes => ExcessFlushList.Count;

    /// <summary>Outages whose server was flushed twice (by any frontends, for the same epoch): the failback lock failed.</summary>
    public int RepeatedFlushes => RepeatedFlushList.Count;

    /// <summary>The outages flushed twice (not in the JSON).</summary>
    [JsonIgnore]
    public IReadOnlyList<RepeatedFlush> RepeatedFlushList { get; init; } = [];

    /// <summary>Readmissions (a frontend's ServerRecovered) that no flush of their server paid for.</summary>
    public int UnflushedReadmissions => UnflushedList.Count;

    /// <summary>Leases taken before a server restart, under the restart fault.</summary>
    public int RestartLeasesTaken { get; init; }

    /// <summary>Refills under a lease of a server's earlier life (before its restart) that were stored.</summary>
    public int OldLeaseRefillsStored { get; init; }

    /// <summary>Restart windows whose lease never reached the reads after the restart, and why (no lease before the kill, or no readmission after it).</summary>
    public IReadOnlyList<RestartLeaseMiss> RestartLeaseMisses { get; init; } = [];

    /// <summary>The servers flushed twice for one outage (not in the JSON).</summary>
    [JsonIgnore]
    public IReadOnlyList<ExcessFlush> ExcessFlushList { get; init; } = [];

    /// <summary>The readmissions without a flush (not in the JSON).</summary>
    [JsonIgnore]
    public IReadOnlyList<ClientEvent> UnflushedList { get; init; } = [];

    /// <summary>Key index → its name (not in the JSON).</summary>
    [JsonIgnore]
    public IReadOnlyList<string> KeyNames { get; init; } = [];

    /// <summary>True when the policy promises integrity and broke it.</summary>
    [JsonIgnore]
    public bool Violates => PromisesIntegrity && (StaleBeyondBound > 0 || CounterDuplicates > 0 || Settled == false || RepeatedFlushes > 0 || UnflushedReadmissions > 0);

    /// <summary>Checks a recorded history and summarizes it.</summary>
    public static PolicyResult From(FailoverPolicy policy, ChaosOptions options, TimeSpan? bound, HistoryRecorder history, IReadOnlyList<int> keyServers, TimeSpan elapsed, IReadOnlyList<int>? counterServers = null, RunChecks? checks = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(history);
        var reads = history.Reads;
        var writes = history.Writes;
        var check = StalenessChecker.Check(reads, writes, bound);
        var latencies = reads.Select(r => r.EndMs - r.StartMs).Order().ToArray();
        var counters = history.Counters;
        var duplicates = counterServers is null ? [] : CounterChecker.Duplicates(counters, history.Events, counterServers);
        return new PolicyResult
        {
            Policy = policy.Name(),
            Faults = options.Faults.Select(f => f.Name()).ToArray(),
            Reads = check.Reads,
            Hits = check.Hits,
            StaleReads = check.Stale.Count,
            StaleBeyondBound = check.StaleBeyondBound,
            ReadsByPath = new SortedDictionary<string, int>(reads.GroupBy(r => r.Path ?? "other").ToDictionary(g => g.Key, g => g.Count()), StringComparer.Ordinal),
            StaleBeyondBoundByPath = new SortedDictionary<string, int>(check.Stale.Where(x => x.BeyondBound).GroupBy(x => x.Read.Path ?? "other").ToDictionary(g => g.Key, g => g.Count()), StringComparer.Ordinal),
            MaxStalenessMs = Math.Round(check.MaxStalenessMs, 1),
            DbReads = check.DbReads,
            AppErrors = history.AppErrors,
            P50ReadMs = Math.Round(Percentile(latencies, 0.50), 3),
            P99ReadMs = Math.Round(Percentile(latencies, 0.99), 3),
            PhpReads = reads.Count(r => r.Frontend >= options.Frontends),
            PhpStaleReads = check.Stale.Count(s => s.Read.Frontend >= options.Frontends),
            PhpStaleBeyondBound = check.Stale.Count(s => s.BeyondBound && s.Read.Frontend >= options.Frontends),
            Writes = writes.Count,
            FailedDeletes = writes.Count(w => w.Failed),
            CancelledCalls = history.CancelledCalls,
            CounterValues = counters.Count,
            CounterDuplicates = duplicates.Count,
            Counters = counters,
            DuplicateCounters = duplicates,
            CounterServers = counterServers ?? [],
            BoundMs = bound?.TotalMilliseconds,
            PromisesIntegrity = policy != FailoverPolicy.Rehash,
            ErrorsByType = new SortedDictionary<string, int>(history.ErrorsByType.ToDictionary(), StringComparer.Ordinal),
            ErrorSamples = new SortedDictionary<string, string>(history.ErrorSamples.ToDictionary(), StringComparer.Ordinal),
            DurationMs = elapsed.TotalMilliseconds,
            Stale = check.Stale,
            FaultEvents = history.Faults,
            ClientEvents = history.Events,
            KeyServers = keyServers,
            Bins = Bin(reads, writes, elapsed),
            WindowHits = [.. history.Faults.Where(f => f.Window.Frontend is not null).Select(f => FaultWindowHits.Of(f, reads))],
            Settled = checks?.Settle.Settled,
            SettleMs = checks is null ? null : Math.Round(checks.Settle.AfterMs),
            Unsettled = checks?.Settle.Unsettled,
            FlushesPerServer = checks is null ? [] : Enumerable.Range(0, options.Servers).Select(s => checks.FlushSamples.Where(x => x.Server == s).Select(x => x.Flushes).DefaultIfEmpty(0).Max()).ToArray(),
            ExcessFlushList = checks?.Flushes.Excess ?? [],
            RepeatedFlushList = checks?.Flushes.Repeated ?? [],
            UnflushedList = checks?.Flushes.Unflushed ?? [],
            RestartLeasesTaken = checks?.Restarts.Taken ?? 0,
            OldLeaseRefillsStored = checks?.Restarts.OldLeasesStored ?? 0,
            RestartLeaseMisses = checks?.Restarts.Misses ?? [],
            KeyNames = checks?.KeyNames ?? [],
        };
    }

    /// <summary>The width of a <see cref="TimeBin"/>, ms.</summary>
    public const double BinMs = 250;

    private static TimeBin[] Bin(IReadOnlyList<ReadRecord> reads, IReadOnlyList<WriteRecord> writes, TimeSpan elapsed)
    {
        var count = (int)Math.Ceiling(elapsed.TotalMilliseconds / BinMs) + 1;
        var bins = new TimeBin[count];
        foreach (var r in reads)
        {
            var i = Math.Clamp((int)(r.StartMs / BinMs), 0, count - 1);
            bins[i] = bins[i] with { Reads = bins[i].Reads + 1, Hits = bins[i].Hits + (r.Hit ? 1 : 0) };
        }

        foreach (var w in writes.Where(w => w.Failed && !double.IsInfinity(w.EndMs)))
        {
            var i = Math.Clamp((int)(w.EndMs / BinMs), 0, count - 1);
            bins[i] = bins[i] with { FailedDeletes = bins[i].FailedDeletes + 1 };
        }

        return bins;
    }

    /// <summary>The <paramref name="q"/> quantile of sorted values (nearest rank); 0 when empty.</summary>
    public static double Percentile(double[] sorted, double q)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        if (sorted.Length == 0)
        {
            return 0;
        }

        var rank = (int)Math.Ceiling(q * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }
}

/// <summary>One 250 ms bin of a run.</summary>
/// <param name="Reads">Reads that began in it.</param>
/// <param name="Hits">Of those, cache hits.</param>
/// <param name="FailedDeletes">Deletes that threw and returned in it.</param>
public readonly record struct TimeBin(int Reads, int Hits, int FailedDeletes);

/// <summary>Text renderings of chaos results: JSON, and the timeline of stale reads under a policy.</summary>
public static class ChaosReport
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    };

    /// <summary>The JSON array of <c>--json</c>.</summary>
    public static string ToJson(IReadOnlyList<PolicyResult> results) => JsonSerializer.Serialize(results, Json);

    /// <summary>
    /// Explains every way one policy broke the promise (<see cref="ExplainStaleReadsAndCounters"/>, then
    /// <see cref="ExplainFlushesAndSettling"/>). For reporting bugs.
    /// </summary>
    public static IReadOnlyList<string> ExplainViolations(PolicyResult result, int max = 10)
        => [.. ExplainStaleReadsAndCounters(result, max), .. ExplainFlushesAndSettling(result, max)];

    /// <summary>
    /// Explains the stale reads beyond the bound of one policy and its counter values handed out twice: for each (up
    /// to <paramref name="max"/>), the read, the write it missed, the server of the key and the faults and client events
    /// around it; the value, who got it when, and its server's faults and events.
    /// </summary>
    public static IReadOnlyList<string> ExplainStaleReadsAndCounters(PolicyResult result, int max = 10)
    {
        ArgumentNullException.ThrowIfNull(result);
        var lines = new List<string>();
        foreach (var s in result.Stale.Where(s => s.BeyondBound).Take(max))
        {
            var r = s.Read;
            var server = r.Key < result.KeyServers.Count ? result.KeyServers[r.Key] : -1;
            var faults = result.FaultEvents.Where(f => f.StartMs <= r.StartMs + 500 && f.EndMs >= s.MissedWriteEndMs - 3000)
                .Select(f => FormattableString.Invariant($"{f.Window.Kind.Name()} server {f.Window.Server}{(f.Window.Frontend is { } fe ? $" (frontend {fe}'s link)" : string.Empty)} {f.StartMs / 1000:0.000}-{f.EndMs / 1000:0.000} s"));
            var events = result.ClientEvents.Where(e => e.Server == server && e.AtMs >= s.MissedWriteEndMs - 3000 && e.AtMs <= r.StartMs + 500)
                .Select(e => FormattableString.Invariant($"frontend {e.Frontend} {(e.Failed ? "down" : "up")} at {e.AtMs / 1000:0.000} s"));
            var name = r.Key < result.KeyNames.Count ? result.KeyNames[r.Key] : FormattableString.Invariant($"k{r.Key}");
            lines.Add(FormattableString.Invariant(
                $"{result.Policy}: key {name} (server {server}) read by frontend {r.Frontend}{(r.Path is { } path ? " (" + path + ")" : string.Empty)} at {r.StartMs / 1000:0.000} s {(r.Hit ? "hit" : "db")} v{r.Version}; missed v{s.MissedVersion} written by frontend {s.Missed.Frontend} at {s.Missed.StartMs / 1000:0.000} s, delete {(s.Missed.Failed ? "threw" : "returned")} at {s.MissedWriteEndMs / 1000:0.000} s ({s.StalenessMs:0} ms before the read); faults: {string.Join("; ", faults.DefaultIfEmpty("none"))}; events of server {server}: {string.Join("; ", events.DefaultIfEmpty("none"))}"));
        }

        foreach (var duplicate in result.DuplicateCounters.Take(max))
        {
            var server = duplicate.Counter < result.CounterServers.Count ? result.CounterServers[duplicate.Counter] : -1;
            // The handing-out it repeats: the last one before it (an earlier one may belong to an epoch it did leave).
            var first = result.Counters.LastOrDefault(c => c.Counter == duplicate.Counter && c.Value == duplicate.Value && c.AtMs < duplicate.AtMs);
            var faults = result.FaultEvents.Where(f => f.Window.Server == server && f.StartMs <= duplicate.AtMs && f.EndMs >= first.AtMs - 3000)
                .Select(f => FormattableString.Invariant($"{f.Window.Kind.Name()} {f.StartMs / 1000:0.000}-{f.EndMs / 1000:0.000} s"));
            var events = result.ClientEvents.Where(e => e.Server == server && e.AtMs >= first.AtMs - 3000 && e.AtMs <= duplicate.AtMs + 500)
                .Select(e => FormattableString.Invariant($"frontend {e.Frontend} {(e.Failed ? "down" : "up")} at {e.AtMs / 1000:0.000} s ({e.Detail})"));
            lines.Add(FormattableString.Invariant(
                $"{result.Policy}: counter {duplicate.Counter} (server {server}) handed out {duplicate.Value} to frontend {first.Frontend} at {first.AtMs / 1000:0.000} s and again to frontend {duplicate.Frontend} at {duplicate.AtMs / 1000:0.000} s; faults of that server: {string.Join("; ", faults.DefaultIfEmpty("none"))}; its events: {string.Join("; ", events.DefaultIfEmpty("none"))}"));
        }

        return lines;
    }

    /// <summary>
    /// Explains what one policy's flush and settle checks found: outages whose server was flushed twice (by whom, when,
    /// why), readmissions that no flush paid for, and a pool that did not settle after the run.
    /// </summary>
    public static IReadOnlyList<string> ExplainFlushesAndSettling(PolicyResult result, int max = 10)
    {
        ArgumentNullException.ThrowIfNull(result);
        var lines = new List<string>();
        foreach (var repeated in result.RepeatedFlushList.Take(max))
        {
            lines.Add(FormattableString.Invariant(
                $"{result.Policy}: server {repeated.Server} was flushed {repeated.Flushes.Count} times for its outage at epoch {repeated.Epoch}: {string.Join("; ", repeated.Flushes.Select(f => FormattableString.Invariant($"by frontend {f.Frontend} at {f.AtMs / 1000:0.000} s ({f.Reason})")))}"));
        }

        foreach (var readmission in result.UnflushedList.Take(max))
        {
            lines.Add(FormattableString.Invariant(
                $"{result.Policy}: frontend {readmission.Frontend} readmitted server {readmission.Server} at {readmission.AtMs / 1000:0.000} s with no flush of it left to pay for that ({readmission.Detail})"));
        }

        if (result.Settled == false)
        {
            lines.Add(FormattableString.Invariant($"{result.Policy}: the pool had not settled {result.SettleMs / 1000:0.0} s after the run: {result.Unsettled}"));
        }

        return lines;
    }

    /// <summary>
    /// Explains the servers flushed more often than once per fault that touched them (reported, not a broken promise):
    /// when each flush was seen, the faults that touched the server, its events.
    /// </summary>
    public static IReadOnlyList<string> ExplainExcessFlushes(PolicyResult result, int max = 10)
    {
        ArgumentNullException.ThrowIfNull(result);
        var lines = new List<string>();
        foreach (var excess in result.ExcessFlushList.Take(max))
        {
            var faults = result.FaultEvents.Where(f => f.Window.Touches(excess.Server) && f.StartMs <= excess.AtMs)
                .Select(f => FormattableString.Invariant($"{f.Window.Kind.Name()} {f.StartMs / 1000:0.000}-{f.EndMs / 1000:0.000} s"));
            lines.Add(FormattableString.Invariant(
                $"{result.Policy}: server {excess.Server} had been flushed {excess.Flushes} times by {excess.AtMs / 1000:0.000} s (seen at {string.Join(", ", excess.SeenAtMs.Select(t => (t / 1000).ToString("0.000", System.Globalization.CultureInfo.InvariantCulture)))} s), more than the {excess.Allowed} its faults allow (one for the pool's start, one per fault that touched it: {string.Join("; ", faults.DefaultIfEmpty("none"))}); its events: {string.Join("; ", result.ClientEvents.Where(e => e.Server == excess.Server && e.AtMs <= excess.AtMs + 500).Select(e => FormattableString.Invariant($"frontend {e.Frontend} {(e.Failed ? "down" : "up")} at {e.AtMs / 1000:0.000} s ({e.Detail})")).DefaultIfEmpty("none"))}"));
        }

        return lines;
    }
}
