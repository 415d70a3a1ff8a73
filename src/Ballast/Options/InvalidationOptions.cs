namespace Ballast;

/// <summary>How invalidations (deletes, and stores that may have half-happened) are confirmed.</summary>
public sealed class InvalidationOptions
{
    /// <summary>
    /// How long a delete whose first attempt failed is retried before its server is fenced (marked down in the shared
    /// view). A delete returns to the caller only after it is confirmed or its server is fenced. Default 300 ms;
    /// 0 to 1 min.
    /// </summary>
    public TimeSpan ConfirmTimeout { get; set; } = TimeSpan.FromMilliseconds(300);

    /// <summary>
    /// A file that keeps the retry journal, so a restarted process resumes the invalidations it had not confirmed.
    /// Default null: kept in memory only.
    /// </summary>
    public string? JournalPath { get; set; }

    internal void Validate() => OptionChecks.Range(ConfirmTimeout, TimeSpan.Zero, TimeSpan.FromMinutes(1), nameof(ConfirmTimeout));

    /// <summary>A copy for a client's snapshot of its options.</summary>
    internal InvalidationOptions Copy() => (InvalidationOptions)MemberwiseClone();
}
