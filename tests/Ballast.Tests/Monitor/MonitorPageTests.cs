using System.Text.RegularExpressions;
using Ballast.Tests.Integrity;
using Microsoft.Playwright;

namespace Ballast.Tests.Monitor;

/// <summary>
/// The status page in a real browser: headless Chromium (Debian's package, /usr/bin/chromium, driven by Playwright;
/// no browser is downloaded) shows every server, and when a server stalls and returns the page changes without a
/// reload. With <c>BALLAST_MONITOR_SCREENSHOTS=dir</c> it also saves the screenshots of the README (desktop and
/// phone width, taken while the server is down). Timed in wall-clock time, so it runs alone.
/// </summary>
[Collection(WallClockBoundCollection.Name)]
public sealed class MonitorPageTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_page_shows_every_server_and_follows_a_stall_and_the_failback_without_a_reload()
    {
        await using var harness = await MonitorHarness.StartAsync();
        var navigations = 0;
        await using var browser = await MonitorBrowser.OpenAsync(
            harness.Address(0),
            new ViewportSize { Width = 1280, Height = 900 },
            page => page.FrameNavigated += (_, frame) => navigations += frame == page.MainFrame ? 1 : 0);
        var page = browser.Page;

        // Every server, up, each in its own card; the live indicator (checked on opening) says the event stream is open.
        foreach (var server in Enumerable.Range(0, 3).Select(harness.EndPoint))
        {
            await Assertions.Expect(Card(page, server)).ToHaveAttributeAsync("data-state", "up");
        }

        Assert.Equal(3, await page.Locator("article.server").CountAsync());
        await Assertions.Expect(page.Locator("#up-count")).ToHaveTextAsync("3 / 3");

        // A marker in the page's own state: a reload would wipe it.
        await page.EvaluateAsync("() => { window.__notReloaded = true; }");
        var stalled = harness.EndPoint(2);
        harness.Servers[2].Pause();
        // Down, or probing: a down server alternates between the two while the monitor probes it.
        await Assertions.Expect(Card(page, stalled)).ToHaveAttributeAsync("data-state", new Regex("^(down|probing)$"), new() { Timeout = 5000 });
        await Assertions.Expect(Card(page, stalled).Locator(".failure")).ToContainTextAsync("Timeouts");
        await Assertions.Expect(page.Locator("#timeline li.failed", new() { HasText = $"{stalled} failed (Timeouts" })).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#up-count")).ToHaveTextAsync("2 / 3");
        await SaveScreenshotsAsync(page);

        harness.Servers[2].Resume();
        await Assertions.Expect(Card(page, stalled)).ToHaveAttributeAsync("data-state", "up", new() { Timeout = 15000 });
        await Assertions.Expect(page.Locator("#timeline li.recovered").First).ToContainTextAsync($"{stalled} readmitted");
        await Assertions.Expect(page.Locator("#timeline li.recovered").First).ToContainTextAsync("flushed by this monitor");
        await Assertions.Expect(page.Locator("#flush-count")).ToHaveTextAsync("1");

        Assert.True(await page.EvaluateAsync<bool>("() => window.__notReloaded === true"), "the page was reloaded");
        Assert.Equal(1, navigations);
    }

    private static ILocator Card(IPage page, string server) => page.Locator($"article.server[data-server=\"{server}\"]");

    /// <summary>The README's screenshots, when asked for: the page as an operator sees it during an outage.</summary>
    private async Task SaveScreenshotsAsync(IPage page)
    {
        if (Environment.GetEnvironmentVariable("BALLAST_MONITOR_SCREENSHOTS") is not { Length: > 0 } directory)
        {
            return;
        }

        Directory.CreateDirectory(directory);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(directory, "monitor.png"), FullPage = true });
        var phone = await page.Context.Browser!.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 390, Height = 844 }, DeviceScaleFactor = 2, IsMobile = true });
        await phone.GotoAsync(page.Url);
        await Assertions.Expect(phone.Locator("#live")).ToHaveClassAsync("live on");
        await phone.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(directory, "monitor-phone.png") });
        await phone.CloseAsync();
        output.WriteLine($"screenshots saved in {directory}");
    }
}
