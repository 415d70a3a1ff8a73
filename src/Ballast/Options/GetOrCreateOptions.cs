namespace Ballast;

/// <summary>How <c>MemcachedClient.GetOrCreateAsync</c> protects the source from a stampede of cold callers.</summary>
public sealed class GetOrCreateOptions
{
    /// <summary>
    /// How long a caller that lost the refill lease to another frontend (meta <c>mg ... N</c> answered <c>Z</c>)
    /// waits for the winner's value before running the factory itself. Default 2 s; 0 (never wait) to 1 min.
    /// </summary>
    public TimeSpan LeaseWait { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often a waiting caller reads the key again. Default 20 ms; 1 ms to 1 s.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// Whether callers may get a value marked stale (<c>MemcachedClient.MarkStaleAsync</c>, meta <c>md ... I</c>) while
    /// another caller refreshes it: the first reader after the mark wins the lease and runs the factory, and the
    /// others get the stale value at once instead of waiting. Only under <see cref="FailoverPolicy.Offline"/> (other
    /// policies wait for the refresh as when this is off). A deleted key is never served. Default false.
    /// </summary>
    public bool ServeStaleWhileRefreshing { get; set; }

    internal void Validate()
    {
        OptionChecks.Range(LeaseWait, TimeSpan.Zero, TimeSpan.FromMinutes(1), nameof(LeaseWait));
        OptionChecks.Range(PollInterval, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(1), nameof(PollInterval));
    }
}
