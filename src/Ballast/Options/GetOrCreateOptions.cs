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

    internal void Validate()
    {
        OptionChecks.Range(LeaseWait, TimeSpan.Zero, TimeSpan.FromMinutes(1), nameof(LeaseWait));
        OptionChecks.Range(PollInterval, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(1), nameof(PollInterval));
    }
}
