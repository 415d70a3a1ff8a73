namespace Ballast;

/// <summary>What a pool does with the keys of a server that is down. See <c>docs/integrity.md</c> for each one's guarantee.</summary>
public enum FailoverPolicy
{
    /// <summary>
    /// Keys of a down server are misses: reads miss, stores are dropped, nothing is rehashed elsewhere. The server is
    /// flushed before it serves again. The default, and the operator's choice in the PECL mailing-list thread.
    /// </summary>
    Offline = 0,

    /// <summary>
    /// Keys of a down server are served by a separate gutter pool with capped TTLs, as Facebook's memcache does.
    /// Gutter entries are tagged with the outage's epoch and are never read in a later outage.
    /// </summary>
    Gutter = 1,

    /// <summary>Each key is written to several distinct servers; the newest version wins on read.</summary>
    Replicated = 2,

    /// <summary>
    /// UNSAFE, kept for comparison: PECL memcache's default. Keys of a down server move to
    /// <c>find_server(key + "-" + N)</c> and move back when it returns, without a flush, so stale values are served.
    /// </summary>
    Rehash = 3,
}
