using Microsoft.Playwright;

namespace Ballast.Tests.Monitor;

/// <summary>
/// A monitor's page open in headless Chromium (Debian's package, driven by Playwright; no browser is downloaded), with
/// its event stream live. Closes the browser at disposal.
/// </summary>
internal sealed class MonitorBrowser : IAsyncDisposable
{
    private const string Chromium = "/usr/bin/chromium";

    private readonly IPlaywright _playwright;

    private MonitorBrowser(IPlaywright playwright, IBrowser browser, IPage page)
    {
        _playwright = playwright;
        Browser = browser;
        Page = page;
    }

    public IBrowser Browser { get; }

    public IPage Page { get; }

    /// <summary>
    /// Opens <paramref name="address"/> at <paramref name="viewport"/> (Playwright's default when null), and waits until
    /// the page says its event stream is open. <paramref name="beforeNavigation"/> sees the page before it loads.
    /// </summary>
    public static async Task<MonitorBrowser> OpenAsync(Uri address, ViewportSize? viewport = null, Action<IPage>? beforeNavigation = null)
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: scripts/ensure-deps.sh installs Debian's chromium package");
        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium, Headless = true });
            var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = viewport });
            var opened = new MonitorBrowser(playwright, browser, page);
            beforeNavigation?.Invoke(page);
            await page.GotoAsync(address.ToString());
            await Assertions.Expect(page.Locator("#live")).ToHaveClassAsync("live on");
            return opened;
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.DisposeAsync();
        _playwright.Dispose();
    }
}
