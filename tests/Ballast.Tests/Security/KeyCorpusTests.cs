namespace Ballast.Tests.Security;

/// <summary>
/// The library's key validation against the shared corpus (<c>tests/corpus/keys.json</c>), through the client's public
/// surface: every valid key is accepted, and every other one refused with the rule the corpus names. The PHP bridge is
/// held to the same corpus by <see cref="Php.PhpKeyCorpusTests"/>.
/// </summary>
public sealed class KeyCorpusTests
{
    [Theory]
    [MemberData(nameof(KeyCorpus.Names), MemberType = typeof(KeyCorpus))]
    public async Task The_library_gives_each_corpus_key_the_verdict_the_corpus_names(string name)
    {
        var entry = KeyCorpus.Named(name);
        if (entry.Text is not { } key)
        {
            // Bytes that are not UTF-8: no .NET string holds them, so no application can pass them to the library.
            Assert.Equal("encoding", entry.Rule);
            return;
        }

        var options = new MemcachedClientOptions();
        options.Servers.Add(new ServerEndPoint("127.0.0.1", 1));
        options.SharedView.Enabled = false;
        await using var client = new MemcachedClient(options);

        var error = Record.Exception(() => client.Locate(key));
        if (entry.IsValid)
        {
            Assert.Null(error);
            return;
        }

        var refused = Assert.IsType<InvalidCacheKeyException>(error);
        Assert.Equal(entry.Rule, RuleOf(refused.Message));
    }

    [Fact]
    public void The_corpus_has_a_key_for_every_rule_and_valid_keys_too()
    {
        var rules = KeyCorpus.All.Select(e => e.Rule ?? "valid").ToHashSet();
        Assert.Equal(["control", "empty", "encoding", "length", "reserved", "valid"], rules.Order());
    }

    /// <summary>The rule an <see cref="InvalidCacheKeyException"/>'s message states, in the corpus's words.</summary>
    private static string RuleOf(string message)
        => message.Contains("at least 1 byte", StringComparison.Ordinal) ? "empty"
            : message.Contains("at most 250", StringComparison.Ordinal) ? "length"
            : message.Contains("Unicode", StringComparison.Ordinal) ? "encoding"
            : message.Contains("0x00-0x20", StringComparison.Ordinal) ? "control"
            : message.Contains("reserved", StringComparison.Ordinal) ? "reserved"
            : $"(unknown: {message})";
}
