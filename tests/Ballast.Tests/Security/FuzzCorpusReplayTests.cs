using Ballast.Fuzz;

namespace Ballast.Tests.Security;

/// <summary>
/// The fuzzer's seed corpus and every crash it found (fuzz/Ballast.Fuzz/crashes) replayed through its harness, so a
/// crash once found stays fixed. The bounded AFL++ run itself is scripts/fuzz.sh, which ./test.sh runs.
/// </summary>
public sealed class FuzzCorpusReplayTests
{
    public static TheoryData<string> Inputs()
    {
        var root = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "fuzz", "Ballast.Fuzz");
        var data = new TheoryData<string>();
        foreach (var file in new[] { "corpus", "crashes" }.Select(d => Path.Combine(root, d)).Where(Directory.Exists).SelectMany(Directory.EnumerateFiles))
        {
            if (!file.EndsWith(".md", StringComparison.Ordinal))
            {
                data.Add(Path.GetFullPath(file));
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void A_corpus_input_is_parsed_or_refused_without_a_crash(string file)
        => ResponseParserHarness.Run(File.ReadAllBytes(file));

    [Fact]
    public void The_corpus_is_found_so_the_theory_above_is_not_empty()
        => Assert.True(Inputs().Count >= 10, "the seed corpus of fuzz/Ballast.Fuzz/corpus was not found");
}
