using System.Globalization;
using System.Text.RegularExpressions;

namespace Ballast.Cli.Bench;

/// <summary>
/// memcaslap (libmemcached's memaslap), a C load generator speaking the classic text protocol, one request in flight
/// per simulated client. Run against the same servers with the same concurrency, value size and get/set mix.
/// </summary>
internal static partial class Memcaslap
{
    /// <summary>What a memcaslap run reported.</summary>
    /// <param name="Tps">Operations per second from the final "Run time: ... TPS: N" line (with -d, gets count per key).</param>
    /// <param name="Ops">Operations counted.</param>
    /// <param name="GetP99Microseconds">The 99th percentile of gets, from the log2 distribution: the upper edge of its bucket.</param>
    /// <param name="GetP99BucketLowMicroseconds">The lower edge of that bucket.</param>
    /// <param name="GetMaxMicroseconds">The slowest get.</param>
    public sealed record Result(double Tps, long Ops, double? GetP99Microseconds, double? GetP99BucketLowMicroseconds, double? GetMaxMicroseconds);

    public static string ConfigFile(int keySize, int valueSize, double getRatio)
    {
        var setRatio = 1 - getRatio;
        return string.Create(CultureInfo.InvariantCulture, $"key\n{keySize} {keySize} 1\nvalue\n{valueSize} {valueSize} 1\ncmd\n0 {setRatio:0.###}\n1 {getRatio:0.###}\n");
    }

    public static IReadOnlyList<string> Arguments(string servers, int threads, int concurrency, int seconds, int valueSize, int keys, string configPath, int multiget)
    {
        // -w is the task window in units of 1k keys (memcaslap insists on the suffix); it sizes memcaslap's key space.
        var window = Math.Max(1, (keys + 999) / 1000).ToString(CultureInfo.InvariantCulture) + "k";
        var arguments = new List<string>
        {
            "-s", servers,
            "-T", threads.ToString(CultureInfo.InvariantCulture),
            "-c", concurrency.ToString(CultureInfo.InvariantCulture),
            "-t", seconds.ToString(CultureInfo.InvariantCulture) + "s",
            "-X", valueSize.ToString(CultureInfo.InvariantCulture),
            "-w", window,
            "-F", configPath,
            "-S", seconds.ToString(CultureInfo.InvariantCulture) + "s",
        };
        if (multiget > 1)
        {
            arguments.Add("-d");
            arguments.Add(multiget.ToString(CultureInfo.InvariantCulture));
        }

        return arguments;
    }

    /// <summary>Parses memcaslap's output; null when it has no final "Run time" line.</summary>
    public static Result? Parse(string output)
    {
        var runs = RunTimeLine().Matches(output);
        if (runs.Count == 0)
        {
            return null;
        }

        var last = runs[^1];
        var tps = double.Parse(last.Groups["tps"].Value, CultureInfo.InvariantCulture);
        var ops = long.Parse(last.Groups["ops"].Value, CultureInfo.InvariantCulture);
        var (p99High, p99Low, max) = GetPercentile(output, 99);
        return new Result(tps, ops, p99High, p99Low, max);
    }

    /// <summary>
    /// Reads the "Get Statistics (N events)" block's log2 distribution: rows "k: c0 c1 c2 c3" count the gets that
    /// took [2^(k+i), 2^(k+i+1)) microseconds. Returns the bucket edges holding the percentile, and the max.
    /// </summary>
    internal static (double? High, double? Low, double? Max) GetPercentile(string output, double percentile)
    {
        var block = GetBlock().Match(output);
        if (!block.Success)
        {
            return (null, null, null);
        }

        var total = long.Parse(block.Groups["events"].Value, CultureInfo.InvariantCulture);
        double? max = double.TryParse(block.Groups["max"].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var m) ? m : null;
        var buckets = new SortedDictionary<int, long>();
        foreach (var line in block.Groups["dist"].Value.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0 || !int.TryParse(line.AsSpan(0, colon), NumberStyles.Integer, CultureInfo.InvariantCulture, out var first))
            {
                continue;
            }

            var counts = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            for (var i = 0; i < counts.Length; i++)
            {
                buckets[first + i] = long.Parse(counts[i], CultureInfo.InvariantCulture);
            }
        }

        var counted = buckets.Values.Sum();
        if (counted == 0)
        {
            return (null, null, max);
        }

        var rank = (long)Math.Ceiling(percentile / 100.0 * Math.Min(total, counted));
        long seen = 0;
        foreach (var (exponent, count) in buckets)
        {
            seen += count;
            if (seen >= rank)
            {
                var high = Math.Pow(2, exponent + 1);
                return (max is { } top ? Math.Min(high, top) : high, Math.Pow(2, exponent), max);
            }
        }

        return (max, max, max);
    }

    [GeneratedRegex(@"Run time:\s*(?<secs>[\d.]+)s\s+Ops:\s*(?<ops>\d+)\s+TPS:\s*(?<tps>\d+)")]
    private static partial Regex RunTimeLine();

    [GeneratedRegex(@"Get Statistics \((?<events>\d+) events\)\s*\n\s*Min:\s*(?<min>[\d.]+)\s*\n\s*Max:\s*(?<max>[\d.]+)[\s\S]*?Log2 Dist:\s*\n(?<dist>(?:[ \t]*\d+:[ \t\d]*\n?)+)")]
    private static partial Regex GetBlock();
}
