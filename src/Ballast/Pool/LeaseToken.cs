namespace Ballast.Pool;

/// <summary>One server's placeholder for a refill: where it is, its CAS, and the gutter epoch it was granted in (0 for none).</summary>
internal readonly record struct LeaseToken(ServerNode Node, ulong Cas, long GutterEpoch);
