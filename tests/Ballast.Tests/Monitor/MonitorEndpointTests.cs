using System.Net;
using System.Text.Json;

namespace Ballast.Tests.Monitor;

/// <summary>The monitor's HTTP surface over real memcached: the JSON, the event stream, /metrics, /healthz and the page itself.</summary>
public sealed class MonitorEndpointTests
{
    [Fact]
    public async Task Api_status_lists_every_server_with_its_state_epoch_since_reason_flushes_and_memcached_stats()
    {
        await using var harness = await MonitorHarness.StartAsync();
        JsonElement status = default;
        Assert.True(await WaitAsync(async () =>
        {
            status = await harness.StatusAsync(0);
            return status.GetProperty("servers").EnumerateArray().All(s => s.GetProperty("stats").ValueKind == JsonValueKind.Object);
        }), "stats never arrived for every server");

        var servers = status.GetProperty("servers").EnumerateArray().ToArray();
        Assert.Equal(Enumerable.Range(0, 3).Select(harness.EndPoint), servers.Select(s => s.GetProperty("server").GetString()));
        foreach (var server in servers)
        {
            Assert.Equal("up", server.GetProperty("state").GetString());
            Assert.True(server.GetProperty("epoch").GetInt64() > 0);
            Assert.True(server.GetProperty("since").GetDateTimeOffset() > DateTimeOffset.UnixEpoch);
            Assert.True(server.TryGetProperty("reason", out _));
            Assert.Equal(0, server.GetProperty("flushes").GetInt32());
            var stats = server.GetProperty("stats");
            foreach (var name in new[] { "currItems", "getHits", "getMisses", "evictions", "currConnections", "bytes", "limitMaxbytes", "uptime", "cmdFlush" })
            {
                Assert.True(stats.GetProperty(name).GetInt64() >= 0, name);
            }

            Assert.Equal(64L * 1024 * 1024, stats.GetProperty("limitMaxbytes").GetInt64());
            Assert.True(stats.GetProperty("currConnections").GetInt64() >= 1);
        }

        var view = status.GetProperty("view");
        Assert.True(view.GetProperty("fresh").GetBoolean());
        Assert.Equal("memcached", view.GetProperty("store").GetString());
        Assert.InRange(view.GetProperty("ageMs").GetDouble(), 0, view.GetProperty("boundMs").GetDouble());
        Assert.Equal(1000, view.GetProperty("boundMs").GetDouble());
    }

    [Fact]
    public async Task Metrics_have_a_series_per_server_and_healthz_is_healthy_while_the_view_is_fresh()
    {
        await using var harness = await MonitorHarness.StartAsync();
        string metrics = string.Empty;
        var endPoints = Enumerable.Range(0, 3).Select(harness.EndPoint).ToArray();
        // Each server's statistics arrive with its own poll: wait for all three, not the first (a CI run read /metrics
        // between two servers' first polls).
        Assert.True(await WaitAsync(async () =>
        {
            metrics = await harness.Http.GetStringAsync(new Uri(harness.Address(0), "metrics"));
            return endPoints.All(server => metrics.Split('\n').Any(l => l.StartsWith("ballast_monitor_memcached_items{", StringComparison.Ordinal) && l.Contains($"server=\"{server}\"", StringComparison.Ordinal)));
        }), "not every server has its memcached series in /metrics:\n" + metrics);

        var lines = metrics.Split('\n');
        foreach (var server in endPoints)
        {
            foreach (var series in new[] { "ballast_monitor_server_up", "ballast_monitor_server_epoch", "ballast_monitor_failback_flushes_total", "ballast_monitor_memcached_items", "ballast_monitor_memcached_connections", "ballast_monitor_memcached_get_hits_total" })
            {
                Assert.Contains(lines, l => l.StartsWith(series + "{", StringComparison.Ordinal) && l.Contains($"server=\"{server}\"", StringComparison.Ordinal));
            }

            Assert.Contains(lines, l => l.StartsWith("ballast_monitor_server_up{", StringComparison.Ordinal) && l.Contains($"server=\"{server}\"", StringComparison.Ordinal) && l.EndsWith(" 1", StringComparison.Ordinal));
        }

        Assert.Contains(lines, l => l.StartsWith("ballast_view_age_seconds{", StringComparison.Ordinal));

        using var health = await harness.Http.GetAsync(new Uri(harness.Address(0), "healthz"));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Contains("healthy", await health.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Api_events_streams_the_status_at_once_and_again_on_changes()
    {
        await using var harness = await MonitorHarness.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(harness.Address(0), "api/events"));
        using var response = await harness.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var statuses = new List<JsonElement>();
        while (statuses.Count < 2)
        {
            var line = await reader.ReadLineAsync(timeout.Token);
            Assert.NotNull(line);
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                statuses.Add(JsonDocument.Parse(line["data: ".Length..]).RootElement.Clone());
            }
        }

        Assert.All(statuses, s => Assert.Equal(3, s.GetProperty("servers").GetArrayLength()));
        Assert.True(statuses[1].GetProperty("now").GetDateTimeOffset() > statuses[0].GetProperty("now").GetDateTimeOffset());
    }

    [Fact]
    public async Task The_page_is_one_self_contained_file_that_reads_the_event_stream()
    {
        await using var harness = await MonitorHarness.StartAsync(serverCount: 1);
        using var response = await harness.Http.GetAsync(harness.Address(0));
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("<meta name=\"viewport\"", html, StringComparison.Ordinal);
        Assert.Contains("new EventSource(\"api/events\")", html, StringComparison.Ordinal);

        // No external script, stylesheet or font: the page works on a host with no route to the internet.
        Assert.DoesNotContain("<script src", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<link", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("http://", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("https://", html, StringComparison.OrdinalIgnoreCase);
    }

    private static async Task<bool> WaitAsync(Func<Task<bool>> condition)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(100);
        }

        return false;
    }
}
