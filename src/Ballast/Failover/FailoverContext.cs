using Ballast.Invalidation;
using Ballast.Pool;
using Ballast.SharedView;

namespace Ballast.Failover;

/// <summary>What a failover strategy works with: the servers, whether each may be read now, and invalidations.</summary>
/// <param name="Servers">The servers and where keys go.</param>
/// <param name="Access">Whether a server may be read or reached now, and the outage it is in.</param>
/// <param name="Invalidations">Confirm-or-fence for deletes and for stores whose fate is unknown.</param>
/// <param name="Options">The client's options.</param>
/// <param name="Time">The client's clock.</param>
internal sealed record FailoverContext(ServerSet Servers, ServerAccess Access, Invalidator Invalidations, MemcachedClientOptions Options, TimeProvider Time);
