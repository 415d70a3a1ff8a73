namespace Ballast.Tests.Extensions;

/// <summary>
/// Tests that run whole applications (hosts, WebApplicationFactory, dotnet pack and tool install): run one at a time,
/// after the parallel tests, so that their bursts of CPU do not skew the timing-sensitive integrity scenarios.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ApplicationCollection
{
    public const string Name = "Applications";
}
