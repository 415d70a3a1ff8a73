using Ballast.Pool;

namespace Ballast.SharedView;

/// <summary>One replica's copy of a server's view record as a failback read it before flushing: the record and its CAS.</summary>
internal readonly record struct RecordSnapshot(ServerNode Replica, ViewEntry? Entry, ulong Cas);
