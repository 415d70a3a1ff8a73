namespace Ballast.SharedView;

/// <summary>
/// One replica's copy of a server's view record as a failback or recovery read it before flushing: the record and its
/// version in the store. A version of 0 means no record was there.
/// </summary>
internal readonly record struct RecordSnapshot(int Replica, ViewEntry? Entry, long Version);
