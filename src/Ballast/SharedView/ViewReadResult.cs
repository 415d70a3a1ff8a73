namespace Ballast.SharedView;

/// <summary>A merged read of the shared view: the records, how many replicas answered, and whether that is a quorum.</summary>
/// <param name="Entries">Each server's record as the read trusts it.</param>
/// <param name="Responded">How many replicas answered.</param>
/// <param name="IsQuorum">Whether that is a read quorum.</param>
/// <param name="Emptied">
/// Servers hosting a replica that answered without its own server's record, of an epoch this frontend had already seen
/// up: the server lost what it cached (a restart, a flush) while the others still vouch for it up.
/// </param>
internal readonly record struct ViewReadResult(ViewEntry[] Entries, int Responded, bool IsQuorum, int[]? Emptied = null);
