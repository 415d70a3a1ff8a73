using System.Globalization;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Ballast.Extensions;

/// <summary>
/// The health of a Ballast pool as this frontend sees it. Healthy: every server up, the shared view fresh, no
/// invalidation owed. Degraded: some server down, fenced, probing or recovering, the view stale, or invalidations
/// owed; the cache still works and turns the rest into misses. Unhealthy (the registration's failure status): fewer
/// than a majority of the servers up, so the shared view has no quorum and every read misses. The result's data holds
/// each server's state (keyed <c>host:port</c>), the view's freshness and age, and the owed invalidations. While the
/// client's first read of the shared view is under way (<see cref="IMemcachedClient.IsStarting"/>) it is Healthy,
/// described as starting: readiness probes must not fail every deploy for a view that was never read yet.
/// </summary>
internal sealed class BallastHealthCheck(IMemcachedClient client) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        var up = 0;
        var servers = client.Servers;
        foreach (var server in servers)
        {
            var state = client.GetServerState(server);
            data[server.ToString()] = state.ToString();
            up += state == ServerState.Up ? 1 : 0;
        }

        var fresh = client.IsSharedViewFresh;
        var owed = client.PendingInvalidationCount;
        data["shared_view_fresh"] = fresh;
        if (client.SharedViewAge is { } age)
        {
            data["shared_view_age_seconds"] = Math.Round(age.TotalSeconds, 3);
        }

        data["pending_invalidations"] = owed;
        if (client.IsStarting)
        {
            data["starting"] = true;
            return Task.FromResult(HealthCheckResult.Healthy($"Pool {client.PoolName}: starting (the first read of the shared view is under way).", data));
        }

        var summary = string.Create(CultureInfo.InvariantCulture, $"{up} of {servers.Count} servers up, shared view {(fresh ? "fresh" : "stale")}, {owed} invalidations owed");
        var quorum = servers.Count / 2 + 1;
        var status = up < quorum ? context.Registration.FailureStatus
            : up < servers.Count || !fresh || owed > 0 ? HealthStatus.Degraded
            : HealthStatus.Healthy;
        return Task.FromResult(new HealthCheckResult(status, $"Pool {client.PoolName}: {summary}.", data: data));
    }
}
