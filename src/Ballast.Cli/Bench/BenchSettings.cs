namespace Ballast.Cli.Bench;

/// <summary>Everything <c>ballast bench</c> was asked to do.</summary>
internal sealed record BenchSettings
{
    public string? Servers { get; init; }

    public int StartServers { get; init; } = 1;

    public int Concurrency { get; init; } = 32;

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(2);

    public int ValueSize { get; init; } = 100;

    public int Keys { get; init; } = 1000;

    public double GetRatio { get; init; } = 0.9;

    public int Multiget { get; init; }

    public int? Connections { get; init; }

    public int Down { get; init; }

    public bool Json { get; init; }

    public bool Memcaslap { get; init; } = true;

    public bool Mgblast { get; init; } = true;

    public string? MgblastSource { get; init; }

    public bool Check { get; init; }

    public bool Suite { get; init; }

    /// <summary>Where the client keeps its shared view (<c>--view</c>): memcached witnesses (default) or an etcd started for the run.</summary>
    public SharedViewStoreKind View { get; init; }

    /// <summary>Gets go through the IBufferWriter overload into a buffer each loop reuses.</summary>
    public bool IntoBuffer { get; init; }

    /// <summary>Parses <c>--peers memcaslap,mgblast</c> or <c>none</c>.</summary>
    public static (bool Memcaslap, bool Mgblast) ParsePeers(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return (true, true);
        }

        var names = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var memcaslap = false;
        var mgblast = false;
        foreach (var name in names)
        {
            switch (name.ToLowerInvariant())
            {
                case "none":
                    break;
                case "memcaslap":
                case "memaslap":
                    memcaslap = true;
                    break;
                case "mgblast":
                    mgblast = true;
                    break;
                default:
                    throw new FormatException($"Unknown peer '{name}': use memcaslap, mgblast or none.");
            }
        }

        return (memcaslap, mgblast);
    }
}
