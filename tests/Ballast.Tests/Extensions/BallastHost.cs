using Ballast.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Ballast.Tests.Extensions;

/// <summary>A generic host configured only from in-memory settings, as an application's appsettings.json would be.</summary>
internal static class BallastHost
{
    public static IHost Build(IEnumerable<KeyValuePair<string, string?>> settings, Action<IServiceCollection, IConfiguration>? services = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        services?.Invoke(builder.Services, builder.Configuration);
        return builder.Build();
    }

    /// <summary>The usual set-up: the default client from "Ballast", the distributed cache, HybridCache and the health check.</summary>
    public static IHost Standard(MemcachedServers servers, params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Ballast:Servers"] = string.Join(",", servers.EndPoints.Select(e => e.ToString())),
            ["Ballast:OperationTimeout"] = "00:00:03",
            ["Ballast:SharedView:Bound"] = "00:00:10",
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return Build(settings, (s, configuration) =>
        {
            s.AddBallast(configuration.GetSection("Ballast"));
            s.AddBallastDistributedCache();
            s.AddHybridCache();
            s.AddHealthChecks().AddBallast();
        });
    }
}
