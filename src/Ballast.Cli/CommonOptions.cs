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
        Description = $"Connect and operation timeout in milliseconds, 10 to 60000. Default {DefaultTimeoutMilliseconds}.",
        HelpName = "ms",
        Recursive = true,
        CustomParser = ParseTimeout,
    };

    /// <summary>Adds the shared options to the root; subcommands inherit them.</summary>
    public void AddTo(RootCommand root)
    {
        root.Options.Add(Servers);
        root.Options.Add(Distribution);
        root.Options.Add(Hash);
        root.Options.Add(Timeout);
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

        return options;
    }

    /// <summary>
    /// A client for the parsed pool. The constructor's own validation (a server listed twice, say) becomes a usage
    /// error rather than an unexpected exception.
    /// </summary>
    public MemcachedClient CreateClient(ParseResult parseResult, Action<MemcachedClientOptions>? configure = null)
    {
        var options = ClientOptions(parseResult);
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
