using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Ballast.Tests.Packaging;

/// <summary>
/// What a stranger reads: each package's own README (shown on its package page, so its links must be absolute and
/// point into the repository the packages name), and user documents in the user's words, not the project's history.
/// </summary>
public sealed partial class PackageDocumentationTests
{
    private static readonly string Root = Support.DotnetCommand.SolutionDirectory();

    public static TheoryData<string> PackableProjects => [.. Directory.GetFiles(Path.Combine(Root, "src"), "*.csproj", SearchOption.AllDirectories)
        .Where(p => !p.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
        .Where(p => (string?)XDocument.Load(p).Descendants("IsPackable").FirstOrDefault() != "false")
        .Select(p => Path.GetRelativePath(Root, p))];

    [Theory]
    [MemberData(nameof(PackableProjects))]
    public void Each_package_has_its_own_readme_with_absolute_links_into_its_repository(string project)
    {
        var packageId = (string?)XDocument.Load(Path.Combine(Root, project)).Descendants("PackageId").Single();
        var readme = File.ReadAllText(Path.Combine(Root, Path.GetDirectoryName(project)!, "README.md"));
        var repository = RepositoryUrl();

        Assert.StartsWith($"# {packageId}\n", readme.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        var links = MarkdownLink().Matches(readme).Select(m => m.Groups["target"].Value).ToList();
        Assert.NotEmpty(links);
        Assert.All(links, link => Assert.True(link.StartsWith("https://", StringComparison.Ordinal), $"{project}'s README links to '{link}', which a package page cannot resolve"));
        Assert.Contains(links, link => link.StartsWith(repository + "/", StringComparison.Ordinal));
        Assert.All(links.Where(l => l.Contains("github.com", StringComparison.Ordinal)), link => Assert.StartsWith(repository + "/", link, StringComparison.Ordinal));
        Assert.Empty(InternalWords(readme));
    }

    [Fact]
    public void The_packages_name_their_repository_and_project_page()
    {
        var props = XDocument.Load(Path.Combine(Root, "src", "Directory.Build.props"));
        Assert.Equal("$(BallastRepositoryUrl)", (string?)props.Descendants("RepositoryUrl").Single());
        Assert.Equal("$(BallastRepositoryUrl)", (string?)props.Descendants("PackageProjectUrl").Single());
        Assert.Matches("^https://github\\.com/[^/]+/[^/]+$", RepositoryUrl());
    }

    [Theory]
    [InlineData("src/Ballast.Extensions/Ballast.Extensions.csproj")]
    [InlineData("src/Ballast/Ballast.csproj")]
    public void Microsoft_Extensions_dependencies_are_at_the_lowest_version_that_works(string project)
    {
        // The quick-start test builds and runs an application pinned at 10.0.0 against the packed packages; a higher
        // floor here would be a package downgrade (NU1605) for that application.
        var references = XDocument.Load(Path.Combine(Root, project)).Descendants("PackageReference")
            .Where(r => ((string?)r.Attribute("Include"))!.StartsWith("Microsoft.Extensions.", StringComparison.Ordinal))
            .ToList();
        Assert.NotEmpty(references);
        Assert.All(references, r => Assert.Equal("10.0.0", (string?)r.Attribute("Version")));
    }

    public static TheoryData<string> UserDocuments => [
        "README.md", "docs/monitor.md", "docs/observability.md", "samples/Ballast.Sample.Api/README.md",
        .. Directory.GetFiles(Path.Combine(Root, "src"), "README.md", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(Root, p))];

    [Theory]
    [MemberData(nameof(UserDocuments))]
    public void User_documents_speak_the_users_words(string document)
    {
        Assert.Empty(InternalWords(File.ReadAllText(Path.Combine(Root, document))));
    }

    [Fact]
    public void The_check_for_internal_words_catches_what_the_documents_used_to_say()
    {
        // Sentences these documents had before: each one must be caught.
        Assert.NotEmpty(InternalWords("Seed 000's operator runs web servers m1 to m3"));
        Assert.NotEmpty(InternalWords("a cache-aside workload and the seeds' faults"));
        Assert.NotEmpty(InternalWords("(`php/ballast.php`, issue 13's other half)"));
        Assert.NotEmpty(InternalWords("the fix (mutant 19)"));
        Assert.NotEmpty(InternalWords("are in `integrity-scenarios.md` beside the seeds"));
        Assert.Empty(InternalWords("PECL's rehashing served 961 stale values (seed 1)"));
    }

    private static List<string> InternalWords(string text)
        => [.. InternalWord().Matches(text).Select(m => m.Value)];

    private static string RepositoryUrl()
        => (string?)XDocument.Load(Path.Combine(Root, "src", "Directory.Build.props")).Descendants("BallastRepositoryUrl").Single()
           ?? throw new InvalidOperationException("no BallastRepositoryUrl");

    [GeneratedRegex(@"\]\((?<target>[^)\s]+)\)")]
    private static partial Regex MarkdownLink();

    [GeneratedRegex(@"seed \d{3}|seeds'|seed's|the seeds\b|\bissue \d+|\bmutants?\b|integrity-scenarios|\bS\d{1,2}\b(?=[,:)])", RegexOptions.IgnoreCase)]
    private static partial Regex InternalWord();
}
