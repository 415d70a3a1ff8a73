namespace Ballast;

/// <summary>Why this frontend sent <c>flush_all</c> to a server (<see cref="ServerFlushedEventArgs.Reason"/>).</summary>
public enum ServerFlushReason
{
    /// <summary>The server came back after an outage, and this frontend won the failback lock: it is flushed once before it is read again.</summary>
    Failback = 0,

    /// <summary>The server's record in the shared view was lost (a flush, a restart or an eviction of the servers that held it): it is flushed before it is read again.</summary>
    LostRecord = 1,

    /// <summary>
    /// The pool had no shared view at all yet: the first frontend flushes every server once, since nothing says what
    /// the servers hold. <c>ballast view init</c> adopts a warm pool without this flush.
    /// </summary>
    NewPool = 2,

    /// <summary><see cref="FailbackOptions.FlushPoolOnFailback"/>: every server is flushed when one comes back.</summary>
    PoolFlushOnFailback = 3,

    /// <summary>The application called <see cref="MemcachedClient.FlushAllAsync"/>.</summary>
    Application = 4,
}
