using Ballast.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Ballast.Tests.Extensions;

/// <summary>The client's key prefix comes from configuration ("Ballast:KeyPrefix") like every other setting, and a bad one fails the start naming it.</summary>
[Collection(ApplicationCollection.Name)]
public sealed class KeyPrefixBindingTests : IAsyncLifetime
{
    private MemcachedServers _servers = null!;

    public async Task InitializeAsync() => _servers = await MemcachedServers.StartAsync(1);

    public async Task DisposeAsync() => await _servers.DisposeAsync();

    [Fact]
    public async Task KeyPrefix_binds_from_configuration_and_every_key_is_stored_under_it()
    {
        using var host = BallastHost.Build(
            new Dictionary<string, string?> { ["Ballast:Servers"] = _servers.EndPoints.First().ToString(), ["Ballast:KeyPrefix"] = "tenant-7:" },
            (s, configuration) => s.AddBallast(configuration.GetSection("Ballast")));
        await host.StartAsync();

        var client = host.Services.GetRequiredService<IMemcachedClient>();
        Assert.True((await client.SetAsync("greeting", "hello")).IsStored);
        Assert.Equal("hello", await client.GetStringAsync("greeting"));

        await using var plain = new MemcachedClient(_servers.Options(o => o.SharedView.Enabled = false));
        Assert.Equal("hello", await plain.GetStringAsync("tenant-7:greeting"));
        Assert.Null(await plain.GetStringAsync("greeting"));
        await host.StopAsync();
    }

    [Fact]
    public async Task A_KeyPrefix_that_breaks_the_rules_of_a_key_fails_the_start_naming_the_setting()
    {
        using var host = BallastHost.Build(
            new Dictionary<string, string?> { ["Ballast:Servers"] = _servers.EndPoints.First().ToString(), ["Ballast:KeyPrefix"] = "tenant 7:" },
            (s, configuration) => s.AddBallast(configuration.GetSection("Ballast")));
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("Ballast:KeyPrefix", error.Message, StringComparison.Ordinal);
        Assert.Contains("tenant 7:", error.Message, StringComparison.Ordinal);
    }
}
