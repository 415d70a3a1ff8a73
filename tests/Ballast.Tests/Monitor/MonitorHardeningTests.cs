using System.Net;

namespace Ballast.Tests.Monitor;

/// <summary>
/// The monitor's HTTP surface against a hostile page or client: a Host allow-list (a DNS-rebinding page gets nothing),
/// headers that keep the page out of frames and stop content sniffing, and a cap on event streams.
/// </summary>
public sealed class MonitorHardeningTests
{
    [Fact]
    public async Task A_request_naming_another_host_is_refused_and_loopback_names_are_served()
    {
        await using var harness = await MonitorHarness.StartAsync(serverCount: 1, allowedHosts: ["monitor.internal"]);
        var address = harness.Address(0);

        foreach (var host in new[] { "attacker.example", $"attacker.example:{address.Port}", "127.0.0.2", "evil.localhost.example" })
        {
            using var response = await GetAsync(harness, "api/status", host);
            Assert.True(response.StatusCode == HttpStatusCode.MisdirectedRequest, $"Host {host}: {(int)response.StatusCode} {response.StatusCode}");
            Assert.Contains("Host", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        foreach (var host in new[] { $"127.0.0.1:{address.Port}", $"localhost:{address.Port}", "localhost", $"[::1]:{address.Port}", $"monitor.internal:{address.Port}", "MONITOR.internal" })
        {
            using var response = await GetAsync(harness, "api/status", host);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"Host {host}: {(int)response.StatusCode} {response.StatusCode}");
        }
    }

    [Fact]
    public async Task Every_answer_forbids_framing_and_sniffing_and_the_page_has_a_content_security_policy()
    {
        await using var harness = await MonitorHarness.StartAsync(serverCount: 1);
        foreach (var path in new[] { "", "api/status", "healthz", "metrics" })
        {
            using var response = await GetAsync(harness, path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("DENY", Header(response, "X-Frame-Options"));
            Assert.Equal("nosniff", Header(response, "X-Content-Type-Options"));
            var policy = Header(response, "Content-Security-Policy");
            Assert.Contains("default-src 'none'", policy, StringComparison.Ordinal);
            Assert.Contains("frame-ancestors 'none'", policy, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Event_streams_past_the_cap_get_a_clear_503_and_a_closed_one_frees_its_place()
    {
        await using var harness = await MonitorHarness.StartAsync(serverCount: 1);
        const int Cap = 100;
        var open = new List<HttpResponseMessage>();
        try
        {
            for (var i = 0; i < Cap; i++)
            {
                var stream = await OpenEventStreamAsync(harness);
                Assert.True(stream.StatusCode == HttpStatusCode.OK, $"stream {i + 1}: {(int)stream.StatusCode}");
                open.Add(stream);
            }

            using (var refused = await OpenEventStreamAsync(harness))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
                var body = await refused.Content.ReadAsStringAsync();
                Assert.Contains(Cap.ToString(System.Globalization.CultureInfo.InvariantCulture), body, StringComparison.Ordinal);
                Assert.Contains("event stream", body, StringComparison.Ordinal);
            }

            open[0].Dispose();
            open.RemoveAt(0);
            Assert.True(await WaitForAdmissionAsync(harness, open), "no stream was admitted after one closed");
        }
        finally
        {
            open.ForEach(r => r.Dispose());
        }
    }

    [Fact]
    public async Task The_status_is_serialized_once_per_change_however_many_streams_are_open()
    {
        await using var harness = await MonitorHarness.StartAsync(serverCount: 1);
        var monitor = harness.Monitors[0].Monitor;
        const int Streams = 20;
        const int Events = 3;
        var responses = new List<HttpResponseMessage>();
        try
        {
            for (var i = 0; i < Streams; i++)
            {
                responses.Add(await OpenEventStreamAsync(harness));
            }

            var before = monitor.StatusSerializations;
            await Task.WhenAll(responses.Select(ReadStatusEventsAsync));
            var serialized = monitor.StatusSerializations - before;

            // Each change is serialized once (plus one for a change that lands while a stream takes its event); the
            // streams together received at least Streams * Events.
            Assert.True(serialized <= (Events * 2) + 2, $"{serialized} serializations for {Streams} streams reading {Events} events each");
        }
        finally
        {
            responses.ForEach(r => r.Dispose());
        }

        static async Task ReadStatusEventsAsync(HttpResponseMessage response)
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            var events = 0;
            while (events < Events + 1 && await reader.ReadLineAsync(timeout.Token) is { } line)
            {
                events += line.StartsWith("data: ", StringComparison.Ordinal) ? 1 : 0;
            }
        }
    }

    private static async Task<bool> WaitForAdmissionAsync(MonitorHarness harness, List<HttpResponseMessage> open)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var stream = await OpenEventStreamAsync(harness);
            if (stream.StatusCode == HttpStatusCode.OK)
            {
                open.Add(stream);
                return true;
            }

            stream.Dispose();
            await Task.Delay(100);
        }

        return false;
    }

    private static async Task<HttpResponseMessage> OpenEventStreamAsync(MonitorHarness harness)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(harness.Address(0), "api/events"));
        return await harness.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    private static async Task<HttpResponseMessage> GetAsync(MonitorHarness harness, string path, string? host = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(harness.Address(0), path));
        if (host is not null)
        {
            request.Headers.Host = host;
        }

        return await harness.Http.SendAsync(request);
    }

    private static string Header(HttpResponseMessage response, string name)
        => response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? string.Join(",", values)
            : $"(no {name})";
}
