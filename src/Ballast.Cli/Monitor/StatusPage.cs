namespace Ballast.Cli.Monitor;

/// <summary>The status page: one HTML file with its CSS and script inline, embedded in the assembly (no build step, no external script).</summary>
internal static class StatusPage
{
    private static readonly Lazy<string> Content = new(Load);

    public static string Html => Content.Value;

    private static string Load()
    {
        using var stream = typeof(StatusPage).Assembly.GetManifestResourceStream("Ballast.Cli.Monitor.StatusPage.html")
            ?? throw new InvalidOperationException("The status page resource Ballast.Cli.Monitor.StatusPage.html is missing from the assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
