using System.Text.Json;
using Ballast.Cli.Bench;
using Ballast.Tests.Support;

namespace Ballast.Tests.Bench;

/// <summary><c>ballast bench --json</c> against a real memcached: the fields the issue names, with their meaning.</summary>
public sealed class BenchJsonTests
{
    [Fact]
    public async Task A_multi_get_run_reports_keys_per_second_as_ops_per_sec_and_calls_apart()
    {
        var (exitCode, report) = await RunAsync(s => s with { Multiget = 5 });

        Assert.Equal(0, exitCode);
        var opsPerSecond = report.GetProperty("ops_per_sec").GetDouble();
        var callsPerSecond = report.GetProperty("calls_per_sec").GetDouble();
        Assert.True(callsPerSecond > 0);
        Assert.Equal(callsPerSecond * 5, opsPerSecond, tolerance: 5);
        Assert.Equal(opsPerSecond, report.GetProperty("keys_per_sec").GetDouble());
        var p50 = report.GetProperty("p50_ms").GetDouble();
        var p99 = report.GetProperty("p99_ms").GetDouble();
        var p999 = report.GetProperty("p999_ms").GetDouble();
        Assert.True(p50 > 0 && p50 <= p99 && p99 <= p999, $"percentiles out of order: {p50}, {p99}, {p999}");
        Assert.True(report.GetProperty("alloc_bytes_per_op").GetDouble() > 0);
        Assert.Equal(0, report.GetProperty("errors").GetInt32());
    }

    [Fact]
    public async Task A_single_key_run_into_a_buffer_reads_through_the_buffer_path_and_states_the_allocation_target()
    {
        var (_, report) = await RunAsync(s => s with { GetRatio = 1, IntoBuffer = true });

        Assert.Equal(report.GetProperty("ops_per_sec").GetDouble(), report.GetProperty("calls_per_sec").GetDouble());
        Assert.True(report.GetProperty("into_buffer").GetBoolean());
        var target = Assert.Single(report.GetProperty("targets").EnumerateArray(), t => t.GetProperty("name").GetString()!.Contains("IBufferWriter", StringComparison.Ordinal));
        // Whether it passes is for a quiet process (`ballast bench`): tests running in parallel here allocate too.
        Assert.Contains(target.GetProperty("pass").ValueKind, new[] { JsonValueKind.True, JsonValueKind.False });
        Assert.EndsWith("bytes/get", target.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, report.GetProperty("errors").GetInt32());
    }

    /// <summary>A short run (1 s, 4 loops, 100 keys, no peers) against a memcached started for it.</summary>
    private static async Task<(int ExitCode, JsonElement Report)> RunAsync(Func<BenchSettings, BenchSettings> configure)
    {
        await using var servers = await MemcachedServers.StartAsync(1);
        var settings = configure(new BenchSettings
        {
            Servers = servers[0].EndPoint,
            Concurrency = 4,
            Duration = TimeSpan.FromSeconds(1),
            Warmup = TimeSpan.FromMilliseconds(200),
            Keys = 100,
            Memcaslap = false,
            Mgblast = false,
            Json = true,
        });
        using var output = new StringWriter();
        var exitCode = await BenchRunner.RunAsync(settings, output, CancellationToken.None);
        return (exitCode, JsonDocument.Parse(output.ToString()).RootElement.Clone());
    }
}
