namespace Ballast.Cli.Monitor;

/// <summary>The status page: one HTML file with its CSS and script inline, embedded in the assembly (no build step, no external script).</summary>
internal static class StatusPage
{
    private static readonly Lazy<string> Content = new(Load);

    private static readonly Lazy<string> Policy = new(() => BuildPolicy(Html));

    public static string Html => Content.Value;

    /// <summary>
    /// The content security policy of every answer: nothing loads but the page's own inline style and script (allowed by
    /// their SHA-256, so an injected one would not run) and requests back to the monitor; no framing, no forms, no base.
    /// </summary>
    public static string ContentSecurityPolicy => Policy.Value;

    private static string BuildPolicy(string html)
        => $"default-src 'none'; style-src 'sha256-{Hash(Inline(html, "style"))}'; script-src 'sha256-{Hash(Inline(html, "script"))}'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static string Inline(string html, string element)
    {
        var start = html.IndexOf($"<{element}>", StringComparison.Ordinal) + element.Length + 2;
        var end = html.IndexOf($"</{element}>", start, StringComparison.Ordinal);
        return start < element.Length + 2 || end < 0 ? throw new InvalidOperationException($"The status page has no <{element}> element.") : html[start..end];
    }

    private static string Hash(string text) => Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));

    private static string Load()
    {
        using var stream = typeof(StatusPage).Assembly.GetManifestResourceStream("Ballast.Cli.Monitor.StatusPage.html")
            ?? throw new InvalidOperationException("The status page resource Ballast.Cli.Monitor.StatusPage.html is missing from the assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
