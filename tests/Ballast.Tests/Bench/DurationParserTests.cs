using Ballast.Cli.Bench;

namespace Ballast.Tests.Bench;

public class DurationParserTests
{
    [Theory]
    [InlineData("10s", 10_000)]
    [InlineData("500ms", 500)]
    [InlineData("1m", 60_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("2", 2_000)]
    [InlineData(" 3S ", 3_000)]
    public void Parses_units(string text, double milliseconds)
        => Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), DurationParser.Parse(text));

    [Theory]
    [InlineData("")]
    [InlineData("s")]
    [InlineData("-1s")]
    [InlineData("0s")]
    [InlineData("ten seconds")]
    [InlineData("10x")]
    public void Rejects_what_is_not_a_positive_duration(string text)
        => Assert.Throws<FormatException>(() => DurationParser.Parse(text));

    [Fact]
    public void Peers_list_is_parsed_and_unknown_names_rejected()
    {
        Assert.Equal((true, true), BenchSettings.ParsePeers("memcaslap,mgblast"));
        Assert.Equal((false, false), BenchSettings.ParsePeers("none"));
        Assert.Equal((false, true), BenchSettings.ParsePeers("mgblast"));
        Assert.Throws<FormatException>(() => BenchSettings.ParsePeers("redis"));
    }
}
