using System.Diagnostics;
using System.Globalization;

namespace Ballast.Cli.Bench;

/// <summary>
/// CPU time spent, as Linux counts it in <c>/proc</c>: this process's, another process's (a server's), and that of
/// this process's children that have ended (a peer tool: its CPU time joins <c>cutime</c>/<c>cstime</c> once it is
/// reaped). Zero where <c>/proc</c> is absent, so the figures read "n/a" rather than fail the bench.
/// </summary>
internal static class ProcessCpu
{
    // USER_HZ, the unit of /proc/PID/stat's times: 100 on every Linux this runs on.
    private const double TicksPerSecond = 100;

    public static TimeSpan Self()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime;
    }

    /// <summary>utime + stime of <paramref name="pid"/> (fields 14 and 15 of its stat line).</summary>
    public static TimeSpan Of(int pid) => Fields(pid.ToString(CultureInfo.InvariantCulture), 14, 15);

    /// <summary>cutime + cstime of this process (fields 16 and 17): the ended children's CPU time.</summary>
    public static TimeSpan ReapedChildren() => Fields("self", 16, 17);

    private static TimeSpan Fields(string process, int first, int second)
    {
        var path = $"/proc/{process}/stat";
        if (!File.Exists(path))
        {
            return TimeSpan.Zero;
        }

        // The command (field 2) is in parentheses and may hold spaces: count fields from after its closing one.
        var stat = File.ReadAllText(path);
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[first - 3], CultureInfo.InvariantCulture) + long.Parse(fields[second - 3], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / TicksPerSecond);
    }
}
