namespace Ballast.Invalidation;

/// <summary>A delete not yet confirmed by its server.</summary>
/// <param name="Id">Journal-unique id.</param>
/// <param name="Server">The server, as <c>host:port</c> (stable across restarts, unlike an index).</param>
/// <param name="Key">The key to delete.</param>
/// <param name="Epoch">
/// The server's shared-view epoch when the delete failed: a flush after it supersedes the delete. <see cref="UntilConfirmed"/>
/// for a delete no readmission supersedes (a write skipped on a fence whose flush may already have happened).
/// </param>
internal sealed record PendingInvalidation(long Id, string Server, string Key, long Epoch)
{
    /// <summary>The epoch of a delete only its server's confirmation settles.</summary>
    public const long UntilConfirmed = long.MaxValue;

    /// <summary>Whether only a confirmation settles it.</summary>
    public bool IsUntilConfirmed => Epoch == UntilConfirmed;
}
