using Ballast.Distribution;

namespace Ballast.Tests.Distribution;

/// <summary>
/// libmemcached counts each server's points on the continuum in single precision; double precision gives other counts
/// for some weights, and keys then land where PHP would not put them (PhpCompatibilityTests checks the placements).
/// </summary>
public sealed class KetamaPointCountTests
{
    [Fact]
    public void Five_servers_weighted_1_6_6_6_6_give_the_first_28_points_as_libmemcached_does_not_the_32_of_double_precision()
    {
        Assert.Equal(28, KetamaContinuum.PointsForServer(1, 25, 5));
        Assert.Equal(32, (int)Math.Floor((1.0 / 25 * 160 / 4 * 5) + 0.0000000001) * 4);
    }
}
