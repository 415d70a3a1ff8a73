using Ballast.Cli.Bench;

namespace Ballast.Tests.Bench;

/// <summary>bench's ceiling probe comes with the tool: nothing outside the repository (or the installed tool) is needed to build it.</summary>
public sealed class MgblastSourceTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("ballast-mgblast-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Without_an_override_the_embedded_source_is_written_out_and_compiles()
    {
        var source = Mgblast.FindSource(null, _directory);

        Assert.Equal(Path.Combine(_directory, "mgblast.c"), source);
        Assert.Contains("usage: mgblast PORT CONNS DEPTH SECONDS", await File.ReadAllTextAsync(source!));
        var (binary, error) = await Mgblast.CompileAsync(source!, _directory, CancellationToken.None);
        Assert.True(binary is not null, error);
    }

    [Fact]
    public void An_override_that_does_not_exist_is_reported_as_missing()
    {
        Assert.Null(Mgblast.FindSource(Path.Combine(_directory, "nowhere.c"), _directory));
        Assert.False(File.Exists(Path.Combine(_directory, "mgblast.c")));
    }
}
