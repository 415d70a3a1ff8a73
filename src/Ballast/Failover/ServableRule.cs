using Ballast.Protocol;

namespace Ballast.Failover;

/// <summary>
/// The one rule for when a stored item may be served as a hit: it has a value, and the meta protocol marks it
/// neither as a refill lease won by this read (<c>W</c>), nor as a placeholder someone else is refilling (<c>Z</c>),
/// nor as stale (<c>X</c>, set by <c>md ... I</c>). Everything else is a miss. Every read path asks here, whether it
/// holds a parsed result or (the copy-into-a-buffer path, which decides before copying) the raw response.
/// </summary>
internal static class ServableRule
{
    /// <summary>True when <paramref name="raw"/> is a hit a caller may see.</summary>
    public static bool IsServable(in GetResult raw) => raw.Value is not null && !raw.MustRefill && !raw.RefillPending && !raw.IsStale;

    /// <summary>True when a <c>VA</c> response carries a value a caller may see.</summary>
    public static bool IsServable(in MetaResponse response)
        => !response.HasFlag((byte)'W') && !response.HasFlag((byte)'Z') && !response.HasFlag((byte)'X');
}
