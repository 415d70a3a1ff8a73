using Ballast.Pool;

namespace Ballast.SharedView;

/// <summary>
/// One copy of a server's view record as a failback read it before flushing: the record and its version (memcached's
/// CAS on a witness; etcd's mod revision, with no <paramref name="Replica"/>). 0 means no record was there.
/// </summary>
internal readonly record struct RecordSnapshot(ServerNode? Replica, ViewEntry? Entry, ulong Cas);
