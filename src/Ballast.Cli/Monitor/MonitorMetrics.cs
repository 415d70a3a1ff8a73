using System.Diagnostics.Metrics;

namespace Ballast.Cli.Monitor;

/// <summary>
/// The monitor's <see cref="Meter"/>, <c>Ballast.Monitor</c>: per-server gauges read from the monitor's snapshot at
/// each scrape, tagged <c>server</c> (host:port). /metrics serves them through the OpenTelemetry Prometheus exporter,
/// beside the client's own <c>Ballast</c> meter (fences, failbacks, timeouts, and <c>ballast.view.age</c>).
/// </summary>
internal sealed class MonitorMetrics : IDisposable
{
    public const string MeterName = "Ballast.Monitor";

    private readonly Meter _meter;
    private readonly PoolMonitor _monitor;

    public MonitorMetrics(PoolMonitor monitor, IMeterFactory meterFactory)
    {
        _monitor = monitor;
        _meter = meterFactory.Create(MeterName);
        _meter.CreateObservableGauge("ballast.monitor.server.up", () => PerServer(s => s.State == "up" ? 1 : 0), "1", "1 while the server is up in the monitor's view (readable: not down, not fenced), else 0.");
        _meter.CreateObservableGauge("ballast.monitor.server.epoch", () => PerServer(s => s.Epoch), "1", "The epoch of the server's shared-view record.");
        _meter.CreateObservableGauge("ballast.monitor.server.fenced", () => PerServer(s => s.Record.Fenced ? 1 : 0), "1", "1 while the shared view fences the server.");
        _meter.CreateObservableCounter("ballast.monitor.failback.flushes", () => PerServer(s => s.Flushes), "{flush}", "Flushes this monitor made on the server (failback, lost records, a new pool).");
        _meter.CreateObservableGauge("ballast.monitor.memcached.items", () => PerStat(s => s.CurrItems), "{item}", "memcached curr_items.");
        _meter.CreateObservableCounter("ballast.monitor.memcached.get.hits", () => PerStat(s => s.GetHits), "{hit}", "memcached get_hits.");
        _meter.CreateObservableCounter("ballast.monitor.memcached.get.misses", () => PerStat(s => s.GetMisses), "{miss}", "memcached get_misses.");
        _meter.CreateObservableCounter("ballast.monitor.memcached.evictions", () => PerStat(s => s.Evictions), "{item}", "memcached evictions.");
        _meter.CreateObservableCounter("ballast.monitor.memcached.flushes", () => PerStat(s => s.CmdFlush), "{flush}", "memcached cmd_flush: every flush_all the server received, whoever sent it.");
        _meter.CreateObservableGauge("ballast.monitor.memcached.connections", () => PerStat(s => s.CurrConnections), "{connection}", "memcached curr_connections.");
        _meter.CreateObservableGauge("ballast.monitor.memcached.memory.used", () => PerStat(s => s.Bytes), "By", "memcached bytes.");
        _meter.CreateObservableGauge("ballast.monitor.memcached.memory.limit", () => PerStat(s => s.LimitMaxbytes), "By", "memcached limit_maxbytes.");
        _meter.CreateObservableGauge("ballast.monitor.memcached.uptime", () => PerStat(s => s.Uptime), "s", "memcached uptime.");
        _meter.CreateObservableGauge("ballast.monitor.view.fresh", () => _monitor.Client.IsSharedViewFresh ? 1 : 0, "1", "1 while the monitor's copy of the shared view is fresh enough to serve reads (read from a quorum within three quarters of the bound).");
    }

    public void Dispose() => _meter.Dispose();

    private IEnumerable<Measurement<long>> PerServer(Func<ServerStatus, long> value)
        => _monitor.Snapshot().Servers.Select(s => new Measurement<long>(value(s), new KeyValuePair<string, object?>("server", s.Server)));

    private IEnumerable<Measurement<long>> PerStat(Func<ServerStats, long> value)
        => _monitor.Snapshot().Servers.Where(s => s.Stats is not null).Select(s => new Measurement<long>(value(s.Stats!), new KeyValuePair<string, object?>("server", s.Server)));
}
