using System.Globalization;
using System.Text;
using Ballast.Simulation.Checking;

namespace Ballast.Simulation;

/// <summary>Writes a schedule's history as text, one line per event in time order: what <c>ballast sim --trace</c> prints.</summary>
internal static class TraceWriter
{
    public static string Write(ScheduleResult result, bool operations = true)
    {
        var lines = new List<(long At, int Order, string Text)>();
        var history = result.History;
        foreach (var fault in history.Faults)
        {
            lines.Add((fault.At, 0, $"fault {(fault.Lifted ? "lifted" : "applied")}: {fault.Fault}"));
        }

        foreach (var record in history.ServerRecords)
        {
            var who = record.Frontend >= 0 ? $"frontend {record.Frontend}" : "the fault injector";
            lines.Add((record.At, 1, record.What switch
            {
                "ma" => $"server {record.Server}: {record.Key} = {record.Number} for frontend {record.Frontend} (sent {Ms(record.SentAt)})",
                "flush_all" => $"server {record.Server}: flush_all from {who} (sent {Ms(record.SentAt)})",
                _ => $"server {record.Server}: {record.What} by {who}{(record.Number > 0 ? $" ({record.Number})" : string.Empty)}",
            }));
        }

        foreach (var e in history.Events)
        {
            lines.Add((e.At, 2, $"frontend {e.Frontend}: server {e.Server} {(e.Failed ? "FAILED" : "RECOVERED")} epoch {e.Epoch}: {e.Detail}"));
        }

        foreach (var (at, line) in history.Logs)
        {
            lines.Add((at, 2, line));
        }

        if (operations)
        {
            foreach (var op in history.Operations)
            {
                var what = op.IsRead ? $"read v{op.Version}{(op.Hit ? " (hit)" : string.Empty)}" : op.IsWrite ? $"wrote v{op.Version}" : op.Kind == Workload.OperationKind.Increment ? $"got {op.Version}" : string.Empty;
                lines.Add((op.Start, 3, $"frontend {op.Frontend}/{op.Worker} #{op.Index} {op.Kind} {op.Key} until {Ms(op.End)}: {what} [{op.Outcome}]"));
            }
        }

        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"seed {result.Plan.Seed}: {result.Plan.Servers} servers, digest {result.Digest}, {Ms(result.VirtualTicks)} virtual, {result.Steps} steps");
        foreach (var (at, _, line) in lines.OrderBy(l => l.At).ThenBy(l => l.Order))
        {
            text.Append(Ms(at).PadLeft(11)).Append("  ").AppendLine(line);
        }

        text.AppendLine("violations:");
        foreach (var violation in result.Violations)
        {
            text.Append("  ").AppendLine(violation.ToString());
        }

        foreach (var leak in result.Leaks.Take(5))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"determinism leak: {leak.EntryPoint} on thread {leak.ThreadId} at {Ms(leak.At)}:").AppendLine(leak.Stack);
        }

        return text.ToString();
    }

    private static string Ms(long ticks) => (ticks / 10_000.0).ToString("0.0", CultureInfo.InvariantCulture) + " ms";
}
