namespace Ballast.Simulation.Checking;

/// <summary>A rule a simulated world broke, with when and enough words to find it in the history.</summary>
/// <param name="Rule">The rule's short name (<c>stale-read</c>, <c>counter-duplicate</c>...).</param>
/// <param name="At">When (ticks of virtual time).</param>
/// <param name="Detail">What happened.</param>
internal sealed record Violation(string Rule, long At, string Detail)
{
    public override string ToString() => FormattableString.Invariant($"{At / 10_000.0,9:0.0} ms  {Rule}: {Detail}");
}
