using System.Globalization;

namespace Ballast.Pool;

/// <summary>
/// Which life of a memcached process a connection reached: its process id and the second it started, read from
/// <c>stats</c> (<c>time</c> minus <c>uptime</c>, which memcached computes from one clock reading, so the difference is
/// the same for every answer of one process). A restart empties the server, counters included; two connections that
/// reach different starts reached two lives.
/// </summary>
/// <remarks>
/// What it cannot tell apart: a restart that keeps the process id (pid 1 in a container) within the second the
/// previous life started. A server that does not say (a proxy's <c>stats</c> without <c>pid</c> or <c>time</c>) has no
/// start, and its connections are not checked.
/// </remarks>
internal readonly record struct ServerStart(long ProcessId, long StartedAt)
{
    /// <summary>The start a <c>stats</c> answer gives, or null when it lacks <c>pid</c>, <c>uptime</c> or <c>time</c>.</summary>
    public static ServerStart? From(IReadOnlyDictionary<string, string> stats)
        => stats.TryGetValue("pid", out var pid) && long.TryParse(pid, NumberStyles.None, CultureInfo.InvariantCulture, out var processId)
            && stats.TryGetValue("uptime", out var uptime) && long.TryParse(uptime, NumberStyles.None, CultureInfo.InvariantCulture, out var up)
            && stats.TryGetValue("time", out var time) && long.TryParse(time, NumberStyles.None, CultureInfo.InvariantCulture, out var now)
            ? new ServerStart(processId, now - up)
            : null;

    public override string ToString()
        => $"pid {ProcessId}, started {DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(StartedAt, 0, 253_402_300_799)).UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC";
}
