namespace Ballast;

/// <summary>The gutter pool that serves a down server's keys under <see cref="FailoverPolicy.Gutter"/>.</summary>
public sealed class GutterOptions
{
    /// <summary>The gutter servers (Facebook runs about 1% of the fleet). Required under the Gutter policy.</summary>
    public IList<ServerEndPoint> Servers { get; private set; } = [];

    /// <summary>The TTL cap of entries written to the gutter. Default 10 s; 1 s to 1 h.</summary>
    public TimeSpan MaxTimeToLive { get; set; } = TimeSpan.FromSeconds(10);

    internal void Validate(FailoverPolicy policy)
    {
        OptionChecks.Range(MaxTimeToLive, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1), nameof(MaxTimeToLive));
        if (policy == FailoverPolicy.Gutter && Servers.Count == 0)
        {
            throw new ArgumentException("The Gutter failover policy needs at least one gutter server (GutterOptions.Servers).", nameof(Servers));
        }
    }

    /// <summary>A copy for a client's snapshot of its options.</summary>
    internal GutterOptions Copy()
    {
        var copy = (GutterOptions)MemberwiseClone();
        copy.Servers = [.. Servers];
        return copy;
    }
}
