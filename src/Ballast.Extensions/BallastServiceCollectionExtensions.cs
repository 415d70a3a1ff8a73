using Ballast;
using Ballast.Extensions;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Ballast in a service collection: clients, the distributed cache over them.</summary>
public static class BallastServiceCollectionExtensions
{
    /// <summary>
    /// Registers a <see cref="MemcachedClient"/> (also as <see cref="IMemcachedClient"/>) configured from
    /// <paramref name="section"/>, e.g. <c>builder.Configuration.GetSection("Ballast")</c> holding
    /// <c>{"Servers": "10.0.0.1:11211,10.0.0.2:11211"}</c>. <c>Servers</c> may also be a list of <c>host:port[:weight]</c>
    /// strings or of <c>{Host, Port, Weight}</c> objects; every other key names a property of
    /// <see cref="MemcachedClientOptions"/> (e.g. <c>"OperationTimeout": "00:00:00.500"</c>, <c>"FailoverPolicy": "Gutter"</c>).
    /// The options are validated when the host starts, and a bad or unknown setting fails the start with an
    /// <see cref="OptionsValidationException"/> naming it. The client logs through the host's <see cref="ILoggerFactory"/>
    /// and is disposed with the container.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="section">The configuration section of the client.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddBallast(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(section);
        return services.AddBallastClient(null, SectionPath(section), options => MemcachedOptionsBinder.Bind(section, options, Options.Options.DefaultName));
    }

    /// <summary>Registers a <see cref="MemcachedClient"/> (also as <see cref="IMemcachedClient"/>) configured in code; validated when the host starts.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options (at least <see cref="MemcachedClientOptions.Servers"/>).</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddBallast(this IServiceCollection services, Action<MemcachedClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return services.AddBallastClient(null, nameof(MemcachedClientOptions), configure);
    }

    /// <summary>
    /// Registers a named client, configured from <paramref name="section"/>, as a keyed service: resolve it with
    /// <c>[FromKeyedServices("sessions")] MemcachedClient</c> (or <see cref="IMemcachedClient"/>), or
    /// <c>GetRequiredKeyedService&lt;MemcachedClient&gt;("sessions")</c>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The client's name and service key.</param>
    /// <param name="section">The configuration section of the client.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddBallast(this IServiceCollection services, string name, IConfiguration section)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(section);
        return services.AddBallastClient(name, SectionPath(section), options => MemcachedOptionsBinder.Bind(section, options, name));
    }

    /// <summary>Registers a named client configured in code, as a keyed service (see <see cref="AddBallast(IServiceCollection, string, IConfiguration)"/>).</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="name">The client's name and service key.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddBallast(this IServiceCollection services, string name, Action<MemcachedClientOptions> configure)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configure);
        return services.AddBallastClient(name, name, configure);
    }

    /// <summary>
    /// Registers an <see cref="IDistributedCache"/> that is also an <see cref="IBufferDistributedCache"/>, over the
    /// client registered by <c>AddBallast</c> (the default one, or <see cref="BallastDistributedCacheOptions.ClientName"/>).
    /// HybridCache (<c>AddHybridCache</c>) and FusionCache pick it up as their second level. As
    /// <c>AddStackExchangeRedisCache</c> does, it replaces an <see cref="IDistributedCache"/> registered before (by
    /// <c>AddDistributedMemoryCache</c>, say). The cache's options go through the options system: bind them with
    /// <see cref="AddBallastDistributedCache(IServiceCollection, IConfiguration)"/> or
    /// <c>services.Configure&lt;BallastDistributedCacheOptions&gt;(...)</c>; they are validated when the host starts.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the cache's options (key prefix, client name); optional.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddBallastDistributedCache(this IServiceCollection services, Action<BallastDistributedCacheOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<BallastDistributedCacheOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<BallastDistributedCacheOptions>, BallastDistributedCacheOptionsValidator>());
        services.TryAddSingleton(sp =>
        {
            var settings = sp.GetRequiredService<IOptions<BallastDistributedCacheOptions>>().Value;
            return new BallastDistributedCache(
                settings.ClientName is null ? sp.GetRequiredService<IMemcachedClient>() : sp.GetRequiredKeyedService<IMemcachedClient>(settings.ClientName),
                settings,
                sp.GetService<TimeProvider>() ?? TimeProvider.System);
        });
        if (!services.Any(d => d.ServiceType == typeof(IDistributedCache) && d.ImplementationFactory == CacheFactory))
        {
            services.Add(ServiceDescriptor.Singleton(typeof(IDistributedCache), CacheFactory));
            services.Add(ServiceDescriptor.Singleton(typeof(IBufferDistributedCache), CacheFactory));
        }

        return services;
    }

    /// <summary>
    /// Registers the distributed cache (see <see cref="AddBallastDistributedCache(IServiceCollection, Action{BallastDistributedCacheOptions}?)"/>)
    /// with its options bound from <paramref name="section"/>, e.g. <c>builder.Configuration.GetSection("DistributedCache")</c>
    /// holding <c>{"KeyPrefix": "app:", "ClientName": "sessions"}</c>. A key that names no option fails the start with
    /// an <see cref="OptionsValidationException"/> naming it. The client itself comes from <c>AddBallast</c>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="section">The configuration section of the cache's options.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddBallastDistributedCache(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(section);
        var path = section is IConfigurationSection s ? s.Path : "(configuration root)";
        return services.AddBallastDistributedCache(options =>
        {
            try
            {
                section.Bind(options, binder => binder.ErrorOnUnknownConfiguration = true);
            }
            catch (InvalidOperationException error)
            {
                throw new OptionsValidationException(Options.Options.DefaultName, typeof(BallastDistributedCacheOptions), [$"Configuration section '{path}': {error.Message}"]);
            }
        });
    }

    // One delegate for both interfaces, so that a second AddBallastDistributedCache call adds nothing twice.
    private static readonly Func<IServiceProvider, object> CacheFactory = sp => sp.GetRequiredService<BallastDistributedCache>();

    private static IServiceCollection AddBallastClient(this IServiceCollection services, string? name, string settingsPath, Action<MemcachedClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        var optionsName = name ?? Options.Options.DefaultName;
        services.AddOptions<MemcachedClientOptions>(optionsName).Configure(configure).ValidateOnStart();
        services.AddSingleton<IValidateOptions<MemcachedClientOptions>>(new MemcachedClientOptionsValidator(optionsName, settingsPath));
        if (name is null)
        {
            services.TryAddSingleton(sp => CreateClient(sp, optionsName));
            services.TryAddSingleton<IMemcachedClient>(sp => sp.GetRequiredService<MemcachedClient>());
        }
        else
        {
            services.TryAddKeyedSingleton(name, (sp, _) => CreateClient(sp, optionsName));
            services.TryAddKeyedSingleton<IMemcachedClient>(name, (sp, _) => sp.GetRequiredKeyedService<MemcachedClient>(name));
        }

        return services;
    }

    private static MemcachedClient CreateClient(IServiceProvider services, string optionsName)
    {
        var options = services.GetRequiredService<IOptionsMonitor<MemcachedClientOptions>>().Get(optionsName);
        options.LoggerFactory ??= services.GetService<ILoggerFactory>();
        return new MemcachedClient(options, services.GetService<TimeProvider>());
    }

    private static string SectionPath(IConfiguration section) => section is IConfigurationSection s ? s.Path : nameof(MemcachedClientOptions);
}
