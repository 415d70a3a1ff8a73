using System.Text.Json.Nodes;
using Ballast.Tests.Integrity;
using Microsoft.Playwright;

namespace Ballast.Tests.Monitor;

/// <summary>
/// The monitor's timeline for each kind of event, above all a readmission the monitor found only in the shared view: a
/// frontend cut off for a whole outage never has the server down, and when its view shows the server readmitted at a
/// newer epoch it raises <c>ServerRecovered</c> with a downtime of zero (<c>ViewRefresher</c>). That is not an outage of
/// no length, and the page must not say "down 0.0 s" (nor a negative or NaN figure): it says the monitor did not see it
/// down. The events are handed to the monitor as its client raises them; the page is read in headless Chromium.
/// </summary>
[Collection(WallClockBoundCollection.Name)]
public sealed class MonitorTimelineTests
{
    [Fact]
    public async Task A_readmission_found_only_in_the_view_shows_no_downtime_and_the_others_show_theirs()
    {
        await using var harness = await MonitorHarness.StartAsync();
        var monitor = harness.Monitors[0].Monitor;
        var (foundInView, failedBack) = (monitor.Servers[1], monitor.Servers[2]);
        var now = DateTimeOffset.UtcNow;
        monitor.OnRecovered(new ServerRecoveredEventArgs(failedBack, now, 41, flushedByThisFrontend: false, TimeSpan.FromMilliseconds(2500)));
        monitor.OnRecovered(new ServerRecoveredEventArgs(foundInView, now, 42, flushedByThisFrontend: false, TimeSpan.Zero));

        var events = monitor.Snapshot().Events;
        var inView = events.Single(e => e.Server == foundInView.ToString());
        Assert.Null(inView.DowntimeMs);
        Assert.Equal($"{foundInView} readmitted (epoch 42, flushed by another frontend, not seen down by this monitor: readmitted in the shared view while it was cut off)", inView.Text);
        Assert.Equal($"{failedBack} readmitted (epoch 41, flushed by another frontend, down 2.5 s)", events.Single(e => e.Server == failedBack.ToString()).Text);

        // The JSON the page reads says the same: no downtime figure, and the line to show.
        var json = JsonNode.Parse(await harness.Http.GetStringAsync(new Uri(harness.Address(0), "api/status")))!;
        var shown = json["events"]!.AsArray().Single(e => e!["server"]!.GetValue<string>() == foundInView.ToString())!;
        Assert.Null(shown["downtimeMs"]);
        Assert.Equal(inView.Text, shown["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_page_shows_a_readmission_found_only_in_the_view_as_readmitted_with_no_downtime_figure()
    {
        await using var harness = await MonitorHarness.StartAsync();
        await using var browser = await MonitorBrowser.OpenAsync(harness.Address(0));
        var page = browser.Page;

        var server = harness.Monitors[0].Monitor.Servers[1];
        harness.Monitors[0].Monitor.OnRecovered(new ServerRecoveredEventArgs(server, DateTimeOffset.UtcNow, 42, flushedByThisFrontend: false, TimeSpan.Zero));

        var line = page.Locator("#timeline li.recovered .text");
        await Assertions.Expect(line).ToHaveTextAsync($"{server} readmitted (epoch 42, flushed by another frontend, not seen down by this monitor: readmitted in the shared view while it was cut off)");
        var text = await line.TextContentAsync();
        Assert.DoesNotContain("down 0", text, StringComparison.Ordinal);
        Assert.DoesNotContain("NaN", text, StringComparison.Ordinal);
        Assert.DoesNotContain("undefined", text, StringComparison.Ordinal);
    }
}
