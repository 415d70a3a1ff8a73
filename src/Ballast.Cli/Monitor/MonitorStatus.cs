using System.Globalization;

namespace Ballast.Cli.Monitor;

// The JSON of /api/status and of each server-sent "status" event (camelCase). Internal records, grouped here because
// they are one document: the status of the pool as this monitor sees it.

/// <summary>The whole status: every server, the shared view, and the recent events (newest first).</summary>
internal sealed record MonitorStatus(
    IReadOnlyList<ServerStatus> Servers,
    ViewStatus View,
    IReadOnlyList<MonitorEvent> Events,
    DateTimeOffset StartedAt,
    DateTimeOffset Now);

/// <summary>One server as the monitor sees it.</summary>
/// <param name="Server">host:port.</param>
/// <param name="State">up, down, probing or recovering (the monitor's own frontend's view, fences included); unknown before its first quorum read of the shared view.</param>
/// <param name="Epoch">The epoch of the server's shared-view record.</param>
/// <param name="Since">When the monitor saw the current state begin.</param>
/// <param name="Reason">Why the server last failed, a <see cref="ServerFailureReason"/> name (Timeouts, ConnectionRefused, ConnectionReset, InvalidationUnconfirmed, SharedView, TlsFailed, AuthenticationFailed, Restarted); null if it never did.</param>
/// <param name="Detail">The last failure's detail (the error, or who fenced it).</param>
/// <param name="LastFailure">When it last failed.</param>
/// <param name="Flushes">Flushes this monitor made on it, whatever the reason (exactly one frontend flushes each outage).</param>
/// <param name="Record">The server's shared-view record.</param>
/// <param name="Stats">Its latest memcached stats; null before the first answer.</param>
/// <param name="StatsError">Why the latest stats request failed, if it did.</param>
internal sealed record ServerStatus(
    string Server,
    string State,
    long Epoch,
    DateTimeOffset Since,
    string? Reason,
    string? Detail,
    DateTimeOffset? LastFailure,
    int Flushes,
    ViewRecord Record,
    ServerStats? Stats,
    string? StatsError);

/// <summary>A server's record in the shared view: fenced or not, by whom, when (the writer's clock).</summary>
internal sealed record ViewRecord(bool Fenced, string Writer, DateTimeOffset? ChangedAt);

/// <summary>The memcached <c>stats</c> the page shows, read at <paramref name="At"/>.</summary>
internal sealed record ServerStats(
    DateTimeOffset At,
    string? Version,
    long CurrItems,
    long GetHits,
    long GetMisses,
    double? HitRatio,
    long Evictions,
    long CurrConnections,
    long Bytes,
    long LimitMaxbytes,
    long Uptime,
    long CmdFlush,
    long CmdGet,
    long CmdSet,
    long CmdTouch)
{
    /// <summary>Picks the fields from a <c>stats</c> answer; a missing or malformed number reads as 0.</summary>
    public static ServerStats From(IReadOnlyDictionary<string, string> values, DateTimeOffset at)
    {
        long Get(string name) => values.TryGetValue(name, out var text) && long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : 0;
        var hits = Get("get_hits");
        var misses = Get("get_misses");
        return new ServerStats(
            at,
            values.TryGetValue("version", out var version) ? version : null,
            Get("curr_items"),
            hits,
            misses,
            hits + misses == 0 ? null : (double)hits / (hits + misses),
            Get("evictions"),
            Get("curr_connections"),
            Get("bytes"),
            Get("limit_maxbytes"),
            Get("uptime"),
            Get("cmd_flush"),
            Get("cmd_get"),
            Get("cmd_set"),
            Get("cmd_touch"));
    }
}

/// <summary>The shared view as this monitor holds it.</summary>
/// <param name="Enabled">False when the pool keeps no view (nothing to fence or fail back).</param>
/// <param name="Store">memcached or etcd.</param>
/// <param name="Pool">The pool's name (the view's key prefix).</param>
/// <param name="Frontend">This monitor's frontend id, as records and locks name it.</param>
/// <param name="Fresh">True while the last quorum read started within the bound.</param>
/// <param name="AgeMs">Milliseconds since that read started; null before the first one.</param>
/// <param name="BoundMs">The bound B in milliseconds.</param>
internal sealed record ViewStatus(bool Enabled, string Store, string Pool, string Frontend, bool Fresh, double? AgeMs, double BoundMs);

/// <summary>One entry of the timeline: a server failed, was flushed or was readmitted (as this monitor's client reported it).</summary>
/// <param name="Time">When.</param>
/// <param name="Server">host:port.</param>
/// <param name="Kind">failed, flushed or recovered.</param>
/// <param name="Epoch">The outage's (or readmission's) epoch.</param>
/// <param name="Reason">Why it failed or was flushed; null for a recovery.</param>
/// <param name="Detail">The failure's detail, the flush's, or for a recovery who flushed it.</param>
/// <param name="FlushedHere">For a recovery: whether this monitor ran the flush.</param>
/// <param name="DowntimeMs">
/// For a recovery: how long it was down here; null when this monitor never had it down (it found the readmission in the
/// shared view, made while it was cut off, so it cannot say how long the outage lasted).
/// </param>
internal sealed record MonitorEvent(DateTimeOffset Time, string Server, string Kind, long Epoch, string? Reason, string? Detail, bool FlushedHere, double? DowntimeMs)
{
    /// <summary>The entry as the timeline shows it, in one place for the page and the tests.</summary>
    public string Text => Kind switch
    {
        "failed" => $"{Server} failed ({Reason}, epoch {Epoch}){(Detail is null ? string.Empty : ": " + Detail)}",
        "flushed" => $"{Server} flushed (epoch {Epoch}): {Detail}",
        _ => string.Create(CultureInfo.InvariantCulture, $"{Server} readmitted (epoch {Epoch}, {Detail}, {(DowntimeMs is { } ms ? $"down {ms / 1000:0.0} s" : "not seen down by this monitor: readmitted in the shared view while it was cut off")})"),
    };
}
