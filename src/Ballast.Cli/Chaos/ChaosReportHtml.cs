using System.Globalization;
using System.Net;
using System.Text;

namespace Ballast.Cli.Chaos;

/// <summary>
/// The self-contained HTML report of a chaos run: the results table, then per policy a timeline with the faults as
/// shaded bands per server, the clients' down/up events, and the stale reads over time (inline SVG, no external assets).
/// </summary>
public static class ChaosReportHtml
{
    private const int Width = 960;
    private const int Left = 110;
    private const int Right = 20;
    private const int RowHeight = 26;
    private const int StaleHeight = 90;
    private const int HitHeight = 40;

    private static readonly Dictionary<FaultKind, string> Colors = new()
    {
        [FaultKind.Kill] = "#d62728",
        [FaultKind.Pause] = "#9467bd",
        [FaultKind.Blackhole] = "#333333",
        [FaultKind.Partition] = "#ff7f0e",
        [FaultKind.Slow] = "#1f77b4",
        [FaultKind.Flap] = "#17becf",
        [FaultKind.Lag] = "#bcbd22",
        [FaultKind.Blip] = "#e377c2",
        [FaultKind.Restart] = "#8c564b",
        [FaultKind.Stall] = "#7f7f7f",
    };

    /// <summary>Renders the report.</summary>
    public static string Render(IReadOnlyList<PolicyResult> results, ChaosOptions options, FaultSchedule schedule)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(schedule);
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Ballast chaos report</title><style>")
            .Append("body{font-family:system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:12px 0}")
            .Append("th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}th:first-child,td:first-child{text-align:left}")
            .Append(".bad{background:#fdd}.ok{background:#dfd}.legend span{display:inline-block;margin-right:14px}")
            .Append(".sw{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}code{background:#f4f4f4;padding:1px 4px}")
            .Append("</style></head><body>");
        html.Append("<h1>Ballast chaos report</h1>");
        html.Append(Inv($"<p>{options.Servers} servers, {options.Frontends} frontends × {options.WorkersPerFrontend} workers, {options.Keys} Zipf keys (s={options.ZipfExponent}), read ratio {options.ReadRatio}, {options.Duration.TotalSeconds:0.#} s per policy, seed {options.Seed}. "))
            .Append(Inv($"A read is <b>stale</b> when it returns a version older than the newest version whose write (database update, then delete) had completed before the read began; it is <b>beyond the bound</b> when it began more than B = {options.Bound.TotalMilliseconds:0} ms after the completion of the oldest write it missed (under Rehash, which promises no bound, every stale read counts). "))
            .Append(Inv($"Rehash runs with a {options.RehashRetryInterval.TotalSeconds:0.#} s retry interval (PECL's default is 15 s) so failed servers return within the run.</p>"));

        html.Append("<table><tr><th>policy</th><th>reads</th><th>hits</th><th>stale reads</th><th>beyond bound</th><th>max staleness ms</th><th>db reads</th><th>app errors</th><th>p50 read ms</th><th>p99 read ms</th></tr>");
        foreach (var r in results)
        {
            var cls = r.Violates ? "bad" : r.PromisesIntegrity ? "ok" : string.Empty;
            html.Append(Inv($"<tr class=\"{cls}\"><td>{E(r.Policy)}</td><td>{r.Reads}</td><td>{r.Hits}</td><td>{r.StaleReads}</td><td>{r.StaleBeyondBound}</td><td>{r.MaxStalenessMs:0.#}</td><td>{r.DbReads}</td><td>{r.AppErrors}</td><td>{r.P50ReadMs:0.###}</td><td>{r.P99ReadMs:0.###}</td></tr>"));
        }

        html.Append("</table>");
        html.Append("<h2>Fault schedule</h2><ul>");
        foreach (var w in schedule.Windows)
        {
            html.Append("<li><code>").Append(E(FaultSchedule.Describe(w))).Append("</code></li>");
        }

        html.Append("</ul><p class=\"legend\">");
        foreach (var (kind, color) in Colors)
        {
            html.Append(Inv($"<span><i class=\"sw\" style=\"background:{color};opacity:.35\"></i>{kind.Name()}</span>"));
        }

        html.Append("<span>▼ a frontend marks the server down, ▲ a frontend readmits it</span><span><i class=\"sw\" style=\"background:#d62728\"></i>stale beyond bound</span><span><i class=\"sw\" style=\"background:#f0a500\"></i>stale within bound</span></p>");
        foreach (var r in results)
        {
            html.Append("<h2>").Append(E(r.Policy)).Append("</h2>");
            html.Append(Timeline(r, options));
        }

        html.Append("</body></html>");
        return html.ToString();
    }

    private static string Timeline(PolicyResult r, ChaosOptions options)
    {
        var servers = options.Servers;
        var durationMs = Math.Max(r.DurationMs, options.Duration.TotalMilliseconds);
        var plot = Width - Left - Right;
        double X(double ms) => Left + (Math.Clamp(ms, 0, durationMs) / durationMs * plot);
        var hitTop = 10 + (servers * RowHeight) + 8;
        var staleTop = hitTop + HitHeight + 12;
        var height = staleTop + StaleHeight + 30;
        var svg = new StringBuilder();
        svg.Append(Inv($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{height}\" viewBox=\"0 0 {Width} {height}\" font-size=\"11\">"));
        for (var s = 0; s < servers; s++)
        {
            var y = 10 + (s * RowHeight);
            svg.Append(Inv($"<rect x=\"{Left}\" y=\"{y}\" width=\"{plot}\" height=\"{RowHeight - 4}\" fill=\"#f6f6f6\"/><text x=\"4\" y=\"{y + 15}\">server {s}</text>"));
        }

        foreach (var f in r.FaultEvents)
        {
            var y = 10 + (f.Window.Server * RowHeight);
            var color = Colors.GetValueOrDefault(f.Window.Kind, "#888");
            var label = f.Window.Kind.Name() + (f.Window.Frontend is { } fe ? Inv($" f{fe}") : string.Empty);
            svg.Append(Inv($"<rect x=\"{X(f.StartMs):0.#}\" y=\"{y}\" width=\"{Math.Max(1, X(f.EndMs) - X(f.StartMs)):0.#}\" height=\"{RowHeight - 4}\" fill=\"{color}\" opacity=\".35\"><title>{E(label)} {f.StartMs / 1000:0.00}-{f.EndMs / 1000:0.00} s</title></rect>"));
            svg.Append(Inv($"<text x=\"{X(f.StartMs) + 3:0.#}\" y=\"{y + 15}\" fill=\"#000\">{E(label)}</text>"));
        }

        foreach (var e in r.ClientEvents.Where(e => e.Server < servers))
        {
            var y = 10 + (e.Server * RowHeight) + (e.Failed ? 2 : RowHeight - 6);
            var glyph = e.Failed ? "▼" : "▲";
            svg.Append(Inv($"<text x=\"{X(e.AtMs) - 4:0.#}\" y=\"{y + (e.Failed ? 6 : 0)}\" font-size=\"8\" fill=\"{(e.Failed ? "#a00" : "#060")}\">{glyph}<title>{E(e.Detail)}</title></text>"));
        }

        // Hit ratio per 250 ms (green area) and failed deletes (red ticks): where the policy paid for integrity with misses and errors.
        svg.Append(Inv($"<rect x=\"{Left}\" y=\"{hitTop}\" width=\"{plot}\" height=\"{HitHeight}\" fill=\"#fbfbfb\" stroke=\"#ddd\"/><text x=\"4\" y=\"{hitTop + 14}\">hit ratio</text><text x=\"4\" y=\"{hitTop + 28}\" fill=\"#a00\">| failed deletes</text>"));
        var points = new StringBuilder();
        for (var i = 0; i < r.Bins.Count; i++)
        {
            var bin = r.Bins[i];
            var ratio = bin.Reads == 0 ? 0 : (double)bin.Hits / bin.Reads;
            points.Append(Inv($"{X((i + 0.5) * PolicyResult.BinMs):0.#},{hitTop + HitHeight - (ratio * (HitHeight - 2)):0.#} "));
            if (bin.FailedDeletes > 0)
            {
                svg.Append(Inv($"<line x1=\"{X((i + 0.5) * PolicyResult.BinMs):0.#}\" x2=\"{X((i + 0.5) * PolicyResult.BinMs):0.#}\" y1=\"{hitTop + HitHeight}\" y2=\"{hitTop + HitHeight - Math.Min(HitHeight, 4 + bin.FailedDeletes):0.#}\" stroke=\"#d62728\" stroke-width=\"2\"><title>{bin.FailedDeletes} failed deletes</title></line>"));
            }
        }

        svg.Append(Inv($"<polyline fill=\"none\" stroke=\"#2ca02c\" stroke-width=\"1.5\" points=\"{points}\"/>"));

        // Stale reads: one dot per read, by time and staleness (log scale from 1 ms to the largest seen).
        var maxStale = Math.Max(10, r.Stale.Count == 0 ? 10 : r.Stale.Max(s => s.StalenessMs));
        double Y(double staleness) => staleTop + StaleHeight - (Math.Log10(Math.Max(1, staleness)) / Math.Log10(maxStale) * (StaleHeight - 6)) - 3;
        svg.Append(Inv($"<rect x=\"{Left}\" y=\"{staleTop}\" width=\"{plot}\" height=\"{StaleHeight}\" fill=\"#fbfbfb\" stroke=\"#ddd\"/>"));
        svg.Append(Inv($"<text x=\"4\" y=\"{staleTop + 14}\">stale reads</text><text x=\"4\" y=\"{staleTop + 28}\" fill=\"#666\">{r.StaleReads} ({r.StaleBeyondBound} beyond)</text><text x=\"4\" y=\"{staleTop + 42}\" fill=\"#666\">max {maxStale:0} ms</text><text x=\"4\" y=\"{staleTop + StaleHeight - 2}\" fill=\"#666\">log staleness</text>"));
        if (r.BoundMs is { } bound && bound < maxStale)
        {
            svg.Append(Inv($"<line x1=\"{Left}\" x2=\"{Left + plot}\" y1=\"{Y(bound):0.#}\" y2=\"{Y(bound):0.#}\" stroke=\"#999\" stroke-dasharray=\"4 3\"/><text x=\"{Left + plot - 60}\" y=\"{Y(bound) - 2:0.#}\" fill=\"#666\">B = {bound:0} ms</text>"));
        }

        // At most a few thousand dots; beyond that, a sample keeps the file small while showing where they are.
        var stale = r.Stale;
        var step = Math.Max(1, stale.Count / 3000);
        for (var i = 0; i < stale.Count; i += step)
        {
            var s = stale[i];
            var color = s.BeyondBound ? "#d62728" : "#f0a500";
            svg.Append(Inv($"<circle cx=\"{X(s.Read.StartMs):0.#}\" cy=\"{Y(s.StalenessMs):0.#}\" r=\"2\" fill=\"{color}\"><title>k{s.Read.Key} f{s.Read.Frontend} {(s.Read.Hit ? "hit" : "db")} v{s.Read.Version} &lt; v{s.NewestVersion}, {s.StalenessMs:0} ms</title></circle>"));
        }

        var axisY = staleTop + StaleHeight + 16;
        for (var t = 0.0; t <= durationMs / 1000; t += durationMs > 40000 ? 10 : 5)
        {
            svg.Append(Inv($"<line x1=\"{X(t * 1000):0.#}\" x2=\"{X(t * 1000):0.#}\" y1=\"10\" y2=\"{staleTop + StaleHeight}\" stroke=\"#000\" stroke-opacity=\".08\"/><text x=\"{X(t * 1000) - 6:0.#}\" y=\"{axisY}\">{t:0} s</text>"));
        }

        svg.Append("</svg>");
        return svg.ToString();
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
