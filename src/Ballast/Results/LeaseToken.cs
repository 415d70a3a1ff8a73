namespace Ballast;

/// <summary>
/// One server's placeholder for a refill, and what ties it to that server's life: which server (its index in the
/// pool), the placeholder's CAS, the gutter epoch it was granted in (0 for none), the server's epoch in the shared
/// view when it was granted, and how many connections to the server had been opened by then. A refill under the
/// token is sent only while the view's epoch is unchanged, and only on a connection opened by then: a restarted
/// memcached numbers CAS from 1 again, so a placeholder's CAS alone could match another placeholder after a restart.
/// </summary>
internal readonly record struct LeaseToken(int NodeIndex, ulong Cas, long GutterEpoch, long ServerEpoch, long ConnectionWatermark);
