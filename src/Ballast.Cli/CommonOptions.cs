using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Ballast.Cli;

/// <summary>
/// The options every command shares: which pool, how keys map onto it, and how long to wait. They are recursive on
/// the root command, so <c>ballast --servers a:1 get k</c> and <c>ballast get k --servers a:1</c> both work, and a new
/// command gets them by being added to the root. Values are checked while parsing, so a bad server list or
/// distribution is a usage error (exit 2) before any connection is attempted. No option has a DefaultValueFactory:
/// help would print the default a second time, as the enum or TimeSpan rather than as typed. An absent option reads as
/// null or the enum's zero, and zero is the default by design (Ketama, Crc32).
/// </summary>
internal sealed class CommonOptions
{
    /// <summary>The CLI's names for the distributions: the PHP settings they reproduce, in the same spelling.</summary>
    private static readonly Dictionary<string, KeyDistribution> Distributions = new(StringComparer.OrdinalIgnoreCase)
    {
        ["ketama"] = KeyDistribution.Ketama,
        ["pecl-consistent"] = KeyDistribution.PeclConsistent,
        ["pecl-standard"] = KeyDistribution.PeclStandard,
        ["modula"] = KeyDistribution.Modula,
    };

    private static readonly Dictionary<string, PeclHashFunction> Hashes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["crc32"] = PeclHashFunction.Crc32,
        ["fnv"] = PeclHashFunction.Fnv,
    };

    public const string DefaultServers = "127.0.0.1:11211";

    public const int DefaultTimeoutMilliseconds = 1000;

    public Option<IReadOnlyList<ServerEndPoint>> Servers { get; } = new("--servers", "-s")
    {
        Description = $"The pool: host:port[:weight],... in the order the application lists them (order matters to some distributions). Default {DefaultServers}.",
        HelpName = "host:port[:weight],...",
        Recursive = true,
        CustomParser = ParseServers,
    };

    public Option<KeyDistribution> Distribution { get; } = new("--distribution", "-d")
    {
        Description = "How keys map to servers: ketama (PHP memcached, libketama-compatible), pecl-consistent, pecl-standard (PHP memcache), modula (PHP memcached's default). Default ketama.",
        HelpName = string.Join('|', Distributions.Keys),
        Recursive = true,
        CustomParser = result => ParseName(result, Distributions, "distribution"),
    };

    public Option<PeclHashFunction> Hash { get; } = new("--hash")
    {
        Description = "The key hash of the pecl-* distributions (memcache.hash_function). Default crc32.",
        HelpName = string.Join('|', Hashes.Keys),
        Recursive = true,
        CustomParser = result => ParseName(result, Hashes, "hash"),
    };

    public Option<TimeSpan?> Timeout { get; } = new("--timeout", "-t")
    {
        Description = $"Connect and operation timeout in milliseconds, 10 to 60000. Default {DefaultTimeoutMilliseconds} ({Monitor.MonitorSettings.DefaultTimeout.TotalMilliseconds:0} for monitor).",
        HelpName = "ms",
        Recursive = true,
        CustomParser = ParseTimeout,
    };

    /// <summary>The environment variable that may hold the password, instead of <see cref="PasswordFile"/>.</summary>
    public const string PasswordVariable = "BALLAST_PASSWORD";

    public Option<bool> Tls { get; } = new("--tls")
    {
        Description = "Connect over TLS (memcached -Z). The server's certificate must chain to a trusted authority and name the host.",
        Recursive = true,
    };

    public Option<string?> TlsCa { get; } = new("--tls-ca")
    {
        Description = "A PEM file of the certificate authorities to trust for --tls, instead of the system store.",
        HelpName = "file",
        Recursive = true,
    };

    public Option<string?> TlsServerName { get; } = new("--tls-server-name")
    {
        Description = "The host name the servers' certificates must carry for --tls. Default: each server's host as written in --servers.",
        HelpName = "name",
        Recursive = true,
    };

    public Option<string?> User { get; } = new("--user")
    {
        Description = $"Log in as this user (memcached -Y ASCII authentication); the password comes from --password-file or {PasswordVariable}. Without --tls the password crosses the network in clear text.",
        HelpName = "user",
        Recursive = true,
    };

    public Option<string?> PasswordFile { get; } = new("--password-file")
    {
        Description = $"A file whose first line is the password of --user (safer than {PasswordVariable}, which other processes of the user may read).",
        HelpName = "file",
        Recursive = true,
    };

    public Option<string?> ViewSecretFile { get; } = new("--view-secret-file")
    {
        Description = "A file whose first line is the pool's secret (SharedView.Secret, at least 16 bytes): the shared view's records and locks are then sealed with it and checked. Use the applications' setting.",
        HelpName = "file",
        Recursive = true,
    };

    public Option<bool> Raw { get; } = new("--raw")
    {
        Description = "Write what servers sent as it is, control characters included. Without it, get escapes them (\\xNN) when standard output is a terminal, and stats always does, so a hostile server cannot drive the terminal.",
        Recursive = true,
    };

    /// <summary>Adds the shared options to the root; subcommands inherit them.</summary>
    public void AddTo(RootCommand root)
    {
        root.Options.Add(Servers);
        root.Options.Add(Distribution);
        root.Options.Add(Hash);
        root.Options.Add(Timeout);
        root.Options.Add(Tls);
        root.Options.Add(TlsCa);
        root.Options.Add(TlsServerName);
        root.Options.Add(User);
        root.Options.Add(PasswordFile);
        root.Options.Add(ViewSecretFile);
        root.Options.Add(Raw);
    }

    /// <summary>Client options from the parsed command line; the library's other defaults stay as they are.</summary>
    public MemcachedClientOptions ClientOptions(ParseResult parseResult)
    {
        var timeout = parseResult.GetValue(Timeout) ?? TimeSpan.FromMilliseconds(DefaultTimeoutMilliseconds);
        var options = new MemcachedClientOptions
        {
            Distribution = parseResult.GetValue(Distribution),
            PeclHash = parseResult.GetValue(Hash),
            OperationTimeout = timeout,
            ConnectTimeout = timeout,
        };
        foreach (var server in parseResult.GetValue(Servers) ?? ServerEndPoint.ParseList(DefaultServers))
        {
            options.Servers.Add(server);
        }

        ApplySecurity(parseResult, options);
        options.SharedView.SecretFile = parseResult.GetValue(ViewSecretFile);
        return options;
    }

    /// <summary>
    /// TLS and login settings from the command line. A TLS option without --tls, or a password without a user, is a
    /// usage error rather than silently ignored: the user meant to secure the connection.
    /// </summary>
    public void ApplySecurity(ParseResult parseResult, MemcachedClientOptions options)
    {
        var tls = parseResult.GetValue(Tls);
        var ca = parseResult.GetValue(TlsCa);
        var serverName = parseResult.GetValue(TlsServerName);
        if (!tls && (ca is not null || serverName is not null))
        {
            throw new CliException(ExitCodes.Usage, "--tls-ca and --tls-server-name need --tls.");
        }

        options.Tls.Enabled = tls;
        options.Tls.CertificateAuthorityFile = ca;
        options.Tls.TargetHost = serverName;

        var user = parseResult.GetValue(User);
        var passwordFile = parseResult.GetValue(PasswordFile);
        if (user is null)
        {
            if (passwordFile is not null)
            {
                throw new CliException(ExitCodes.Usage, "--password-file needs --user.");
            }

            return;
        }

        var password = passwordFile is not null ? ReadPassword(passwordFile) : Environment.GetEnvironmentVariable(PasswordVariable);
        if (string.IsNullOrEmpty(password))
        {
            throw new CliException(ExitCodes.Usage, $"--user {user} needs a password: --password-file FILE or the {PasswordVariable} environment variable.");
        }

        try
        {
            options.Credentials = new MemcachedCredentials(user, password);
        }
        catch (ArgumentException error)
        {
            throw new CliException(ExitCodes.Usage, error.Message);
        }
    }

    private static string ReadPassword(string file)
    {
        try
        {
            // The first line, without its line break: files written by echo or an editor end with one.
            using var reader = new StreamReader(file);
            return reader.ReadLine() ?? string.Empty;
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.Usage, $"--password-file: cannot read '{file}' ({error.Message}).");
        }
    }

    /// <summary>
    /// A client for the parsed pool. The constructor's own validation (a server listed twice, say) becomes a usage
    /// error rather than an unexpected exception.
    /// </summary>
    public MemcachedClient CreateClient(ParseResult parseResult, Action<MemcachedClientOptions>? configure = null)
    {
        var options = ClientOptions(parseResult);

        // A command that runs once looks at the pool and changes nothing in it: no view record written, no flush.
        options.SharedView.ReadOnly = true;
        configure?.Invoke(options);
        try
        {
            return new MemcachedClient(options);
        }
        catch (ArgumentException error)
        {
            throw new CliException(ExitCodes.Usage, error.Message);
        }
    }

    private static IReadOnlyList<ServerEndPoint> ParseServers(ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : DefaultServers;
        try
        {
            return ServerEndPoint.ParseList(text);
        }
        catch (FormatException error)
        {
            result.AddError($"--servers: {error.Message}");
            return [];
        }
    }

    private static T ParseName<T>(ArgumentResult result, Dictionary<string, T> names, string what)
        where T : struct
    {
        if (result.Tokens.Count == 0)
        {
            return default;
        }

        var text = result.Tokens[0].Value;
        if (names.TryGetValue(text, out var value))
        {
            return value;
        }

        result.AddError($"--{what}: unknown {what} '{text}'; expected one of {string.Join(", ", names.Keys)}.");
        return default;
    }

    private static TimeSpan? ParseTimeout(ArgumentResult result)
    {
        if (result.Tokens.Count == 0)
        {
            return TimeSpan.FromMilliseconds(DefaultTimeoutMilliseconds);
        }

        var text = result.Tokens[0].Value;
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var milliseconds) || milliseconds is < 10 or > 60_000)
        {
            result.AddError($"--timeout: '{text}' is not a whole number of milliseconds from 10 to 60000.");
            return TimeSpan.FromMilliseconds(DefaultTimeoutMilliseconds);
        }

        return TimeSpan.FromMilliseconds(milliseconds);
    }
}
