using Ballast.Failover;

namespace Ballast.Tests.Client;

/// <summary>
/// The one rule for hits. memcached 1.6 sends a stale item's X flag together with W or Z, so the scenario tests
/// cannot tell whether X itself is checked: this test pins each flag on its own.
/// </summary>
public sealed class ServableRuleTests
{
    private static readonly byte[] Value = [1, 2, 3];

    [Fact]
    public void A_value_with_no_flag_is_a_hit()
        => Assert.True(ServableRule.IsServable(new GetResult(Value, 0, 1)));

    [Fact]
    public void A_miss_is_no_hit()
        => Assert.False(ServableRule.IsServable(GetResult.Miss));

    [Fact]
    public void A_stale_item_is_a_miss_even_without_a_lease_flag()
        => Assert.False(ServableRule.IsServable(new GetResult(Value, 0, 1) { IsStale = true }));

    [Fact]
    public void A_won_lease_and_a_placeholder_refilled_by_another_are_misses()
    {
        Assert.False(ServableRule.IsServable(new GetResult(Value, 0, 1) { MustRefill = true }));
        Assert.False(ServableRule.IsServable(new GetResult(Value, 0, 1) { RefillPending = true }));
    }
}
