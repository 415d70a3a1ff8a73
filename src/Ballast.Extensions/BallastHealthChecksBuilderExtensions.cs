using Ballast;
using Ballast.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds Ballast's health check to <c>services.AddHealthChecks()</c>.</summary>
public static class BallastHealthChecksBuilderExtensions
{
    /// <summary>
    /// Checks a Ballast pool: Healthy when every server is up, the shared view fresh and no invalidation owed;
    /// Degraded when some server is down or fenced, the view stale or invalidations owed; <paramref name="failureStatus"/>
    /// (default Unhealthy) when fewer than a majority of servers are up. The result's data holds each server's state.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="clientName">The named client (<c>AddBallast(name, ...)</c>) to check; null for the default client.</param>
    /// <param name="name">The check's name. Default <c>ballast</c> (or <c>ballast-{clientName}</c>).</param>
    /// <param name="failureStatus">The status without a quorum of servers. Default <see cref="HealthStatus.Unhealthy"/>.</param>
    /// <param name="tags">Tags to filter checks by (e.g. <c>ready</c>).</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static IHealthChecksBuilder AddBallast(this IHealthChecksBuilder builder, string? clientName = null, string? name = null, HealthStatus? failureStatus = null, IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Add(new HealthCheckRegistration(
            name ?? (clientName is null ? "ballast" : "ballast-" + clientName),
            sp => new BallastHealthCheck(clientName is null ? sp.GetRequiredService<IMemcachedClient>() : sp.GetRequiredKeyedService<IMemcachedClient>(clientName)),
            failureStatus,
            tags));
    }
}
