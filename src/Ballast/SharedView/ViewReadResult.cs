namespace Ballast.SharedView;

/// <summary>A merged read of the shared view: the records, how many replicas answered, and whether that is a quorum.</summary>
internal readonly record struct ViewReadResult(ViewEntry[] Entries, int Responded, bool IsQuorum);
