namespace Ballast;

/// <summary>
/// One server's placeholder for a refill: which server (its index in the pool), the placeholder's CAS, and the
/// gutter epoch it was granted in (0 for none).
/// </summary>
internal readonly record struct LeaseToken(int NodeIndex, ulong Cas, long GutterEpoch);
