namespace Ballast;

/// <summary>The outcome of a delete (an invalidation).</summary>
public enum DeleteStatus
{
    /// <summary>The item was deleted.</summary>
    Deleted = 0,

    /// <summary>There was no such item.</summary>
    NotFound = 1,

    /// <summary>
    /// The server could not confirm the delete, so it was fenced instead: marked down in the shared view that every
    /// frontend of the pool obeys, and flushed before any frontend reads from it again. The old value cannot be read;
    /// the invalidation is also retried in the background.
    /// </summary>
    ServerFenced = 2,
}
