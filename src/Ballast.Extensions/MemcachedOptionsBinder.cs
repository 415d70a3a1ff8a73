using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Ballast.Extensions;

/// <summary>
/// Binds <see cref="MemcachedClientOptions"/> from a configuration section. <c>Servers</c> is read here, since the
/// configuration binder cannot build a <see cref="ServerEndPoint"/>: a string (<c>"h:p,h:p:2"</c>), a list of such
/// strings, or a list of <c>{ Host, Port, Weight }</c> objects. Everything else goes to the binder, which refuses
/// settings that match no option, so a misspelt key fails at start-up instead of being ignored.
/// </summary>
internal static class MemcachedOptionsBinder
{
    public static void Bind(IConfiguration section, MemcachedClientOptions options, string optionsName)
    {
        var path = section is IConfigurationSection s ? s.Path : "(configuration root)";
        var rest = new ConfigurationBuilder()
            .AddInMemoryCollection(section.AsEnumerable(makePathsRelative: true)
                .Where(kv => !kv.Key.Equals("Servers", StringComparison.OrdinalIgnoreCase) && !kv.Key.StartsWith("Servers:", StringComparison.OrdinalIgnoreCase)))
            .Build();
        try
        {
            rest.Bind(options, binder => binder.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException error)
        {
            throw Invalid(optionsName, $"Configuration section '{path}': {error.Message}");
        }

        var servers = section.GetSection("Servers");
        options.Servers.Clear();
        try
        {
            if (servers.Value is { } list)
            {
                foreach (var server in ServerEndPoint.ParseList(list))
                {
                    options.Servers.Add(server);
                }
            }

            foreach (var entry in servers.GetChildren())
            {
                options.Servers.Add(entry.Value is { } text ? ServerEndPoint.Parse(text) : FromObject(entry));
            }
        }
        catch (Exception error) when (error is FormatException or ArgumentException)
        {
            throw Invalid(optionsName, $"Configuration setting '{servers.Path}': {error.Message}");
        }

        if (options.Servers.Count == 0)
        {
            throw Invalid(optionsName, $"Configuration setting '{servers.Path}' is missing or empty: a pool needs at least one server, e.g. \"Servers\": \"10.0.0.1:11211,10.0.0.2:11211\".");
        }
    }

    public static OptionsValidationException Invalid(string optionsName, string message)
        => new(optionsName, typeof(MemcachedClientOptions), [message]);

    private static ServerEndPoint FromObject(IConfigurationSection entry)
    {
        var host = entry["Host"];
        if (string.IsNullOrWhiteSpace(host))
        {
            throw new FormatException($"entry '{entry.Key}' has no Host (expected \"host:port[:weight]\" or {{ \"Host\": ..., \"Port\": ..., \"Weight\": ... }}).");
        }

        return new ServerEndPoint(host, entry.GetValue("Port", ServerEndPoint.DefaultPort), entry.GetValue("Weight", 1));
    }
}
