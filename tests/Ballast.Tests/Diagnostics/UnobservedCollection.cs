namespace Ballast.Tests.Diagnostics;

/// <summary>Run alone (no other test's listener may be attached meanwhile): the meter and source are process-wide.</summary>
[CollectionDefinition(nameof(UnobservedTests), DisableParallelization = true)]
public sealed class UnobservedCollection;
