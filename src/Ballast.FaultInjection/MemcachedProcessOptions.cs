namespace Ballast.FaultInjection;

/// <summary>How <see cref="MemcachedProcess.StartAsync"/> launches a memcached server.</summary>
public sealed record MemcachedProcessOptions
{
    /// <summary>Loopback address memcached listens on (<c>-l</c>). Default <c>127.0.0.1</c>; other addresses are refused.</summary>
    public string BindAddress { get; init; } = "127.0.0.1";

    /// <summary>TCP port (<c>-p</c>); 0, the default, picks a free port (and retries on a collision).</summary>
    public int Port { get; init; }

    /// <summary>Cache size in megabytes (<c>-m</c>). Default 64.</summary>
    public int MemoryMegabytes { get; init; } = 64;

    /// <summary>Worker threads (<c>-t</c>). Default 2.</summary>
    public int Threads { get; init; } = 2;

    /// <summary>Largest item in bytes (<c>-I</c>); null, the default, keeps memcached's own (1 MiB).</summary>
    public int? MaxItemSize { get; init; }

    /// <summary>
    /// A PEM certificate chain: when set, memcached serves TLS only (<c>-Z -o ssl_chain_cert=...</c>). Default null.
    /// </summary>
    public string? TlsCertificateFile { get; init; }

    /// <summary>The PEM private key of <see cref="TlsCertificateFile"/> (<c>ssl_key</c>), when not in the chain file. Default null.</summary>
    public string? TlsKeyFile { get; init; }

    /// <summary>
    /// A file of <c>user:password</c> lines: when set, memcached demands ASCII authentication (<c>-Y</c>). Default null.
    /// </summary>
    public string? AuthFile { get; init; }

    /// <summary>Further command-line arguments, appended as given.</summary>
    public IReadOnlyList<string> ExtraArguments { get; init; } = [];

    /// <summary>The memcached executable: a path, or a name looked up on <c>PATH</c>. Default <c>memcached</c>.</summary>
    public string ExecutablePath { get; init; } = "memcached";

    /// <summary>How long to wait for the server to accept TCP connections before giving up. Default 5 seconds.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Clock for the start-up wait. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
