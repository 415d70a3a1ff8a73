using System.Text;
using System.Text.Json;
using Ballast.Tests.Php;

namespace Ballast.Tests.Security;

/// <summary>
/// The shared corpus of hostile keys (<c>tests/corpus/keys.json</c>): each key with the first rule it breaks (null for a
/// valid key). The .NET validation (<see cref="KeyCorpusTests"/>) and the PHP bridge's (<see cref="PhpKeyCorpusTests"/>)
/// are both checked against it, so they cannot drift apart.
/// </summary>
public static class KeyCorpus
{
    /// <summary>One key of the corpus: its bytes, whether a .NET string can hold them, and the expected rule.</summary>
    public sealed record Entry(string Name, byte[] Bytes, string? Rule)
    {
        /// <summary>The key as a .NET string; null when its bytes are not UTF-8 (no .NET key can be them).</summary>
        public string? Text => TryDecode(Bytes);

        public bool IsValid => Rule is null;

        public override string ToString() => Name;
    }

    public static IReadOnlyList<Entry> All { get; } = Load();

    /// <summary>The corpus as xUnit theory data, by name.</summary>
    public static TheoryData<string> Names => [.. All.Select(e => e.Name)];

    public static Entry Named(string name) => All.Single(e => e.Name == name);

    private static IReadOnlyList<Entry> Load()
    {
        var path = Path.Combine(PhpFrontend.RepositoryRoot, "tests", "corpus", "keys.json");
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        var entries = new List<Entry>();
        foreach (var item in document.RootElement.GetProperty("keys").EnumerateArray())
        {
            byte[] bytes;
            if (item.TryGetProperty("hex", out var hex))
            {
                bytes = Convert.FromHexString(hex.GetString()!);
            }
            else
            {
                var times = item.TryGetProperty("times", out var t) ? t.GetInt32() : 1;
                var suffix = item.TryGetProperty("suffix", out var s) ? s.GetString()! : string.Empty;
                bytes = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(item.GetProperty("key").GetString()!, times)) + suffix);
            }

            var rule = item.GetProperty("rule");
            entries.Add(new Entry(item.GetProperty("name").GetString()!, bytes, rule.ValueKind == JsonValueKind.Null ? null : rule.GetString()));
        }

        return entries;
    }

    private static string? TryDecode(byte[] bytes)
    {
        try
        {
            return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }
}
