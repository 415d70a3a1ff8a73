using System.Diagnostics;
using System.Globalization;

namespace Ballast.DistributedCacheBench;

/// <summary>
/// What one slice cost: this process's CPU time (both caches run in it, one at a time), its allocation and garbage
/// collections, and the server's CPU time read from <c>/proc/PID/stat</c>. Taken before and after a slice; the
/// difference is the slice's.
/// </summary>
internal readonly record struct ResourceReading(TimeSpan ClientCpu, long Allocated, int Gen0, int Gen1, int Gen2, TimeSpan ServerCpu, long ServerBytesOut)
{
    public static ResourceReading operator -(ResourceReading after, ResourceReading before) => new(
        after.ClientCpu - before.ClientCpu,
        after.Allocated - before.Allocated,
        after.Gen0 - before.Gen0,
        after.Gen1 - before.Gen1,
        after.Gen2 - before.Gen2,
        after.ServerCpu - before.ServerCpu,
        after.ServerBytesOut - before.ServerBytesOut);

    public static ResourceReading operator +(ResourceReading a, ResourceReading b) => new(
        a.ClientCpu + b.ClientCpu,
        a.Allocated + b.Allocated,
        a.Gen0 + b.Gen0,
        a.Gen1 + b.Gen1,
        a.Gen2 + b.Gen2,
        a.ServerCpu + b.ServerCpu,
        a.ServerBytesOut + b.ServerBytesOut);
}

/// <summary>Takes <see cref="ResourceReading"/>s of this process and one server process.</summary>
internal static class ResourceMeter
{
    // USER_HZ: the unit of utime and stime in /proc/PID/stat (100 on every Linux this runs on).
    private const double TicksPerSecond = 100;

    public static ResourceReading Read(int serverPid, long serverBytesOut)
    {
        using var self = Process.GetCurrentProcess();
        return new ResourceReading(
            self.TotalProcessorTime,
            GC.GetTotalAllocatedBytes(precise: true),
            GC.CollectionCount(0),
            GC.CollectionCount(1),
            GC.CollectionCount(2),
            ServerCpu(serverPid),
            serverBytesOut);
    }

    /// <summary>utime + stime of <paramref name="pid"/>: fields 14 and 15 of its stat line, after the command's closing parenthesis.</summary>
    private static TimeSpan ServerCpu(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');

        // fields[0] is field 3 (state): utime is field 14, stime field 15.
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / TicksPerSecond);
    }
}
