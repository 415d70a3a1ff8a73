using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Ballast.Sample.Api;
using Ballast.Tests.Support;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;

namespace Ballast.Tests.Extensions;

/// <summary>The ASP.NET Core sample (samples/Ballast.Sample.Api) in WebApplicationFactory, two instances over real memcached.</summary>
[Collection(ApplicationCollection.Name)]
public sealed class SampleApiTests : IAsyncLifetime
{
    private MemcachedServers _servers = null!;

    public async Task InitializeAsync() => _servers = await MemcachedServers.StartAsync(3);

    public async Task DisposeAsync() => await _servers.DisposeAsync();

    [Fact]
    public async Task Two_instances_share_products_through_memcached_and_a_write_invalidates_them()
    {
        await using var first = Instance();
        await using var second = Instance();
        using var a = first.CreateClient();
        using var b = second.CreateClient();

        var made = await a.GetFromJsonAsync<Product>("/products/1");
        var read = await b.GetFromJsonAsync<Product>("/products/1");
        Assert.Equal(made, read);
        Assert.Equal(1, await a.GetFromJsonAsync<int>("/database/reads"));
        Assert.Equal(0, await b.GetFromJsonAsync<int>("/database/reads"));

        // A write through the second instance removes the entry from memcached: a third instance reads the new row.
        var updated = new Product(1, "renamed", 99m);
        Assert.Equal(HttpStatusCode.NoContent, (await b.PutAsJsonAsync("/products/1", updated)).StatusCode);
        await using var third = Instance();
        using var c = third.CreateClient();
        Assert.Equal(1, (await c.GetFromJsonAsync<Product>("/products/1"))!.Id);
        Assert.Equal(1, await c.GetFromJsonAsync<int>("/database/reads"));
    }

    [Fact]
    public async Task Concurrent_cold_requests_for_a_price_read_the_database_once_per_instance_at_most()
    {
        await using var first = Instance();
        await using var second = Instance();
        using var a = first.CreateClient();
        using var b = second.CreateClient();

        var requests = Enumerable.Range(0, 40).Select(i => (i % 2 == 0 ? a : b).GetFromJsonAsync<Product>("/prices/7")).ToArray();
        var prices = await Task.WhenAll(requests);

        Assert.All(prices, p => Assert.Equal(7, p!.Id));
        var reads = await a.GetFromJsonAsync<int>("/database/reads") + await b.GetFromJsonAsync<int>("/database/reads");
        Assert.InRange(reads, 1, 2);
    }

    [Fact]
    public async Task Health_reports_each_server_and_turns_degraded_when_one_is_killed()
    {
        await using var app = Instance();
        using var http = app.CreateClient();
        var healthy = await WaitForStatusAsync(http, "Healthy");
        Assert.Equal("Up", healthy.GetProperty("entries").GetProperty("ballast").GetProperty("data").GetProperty(_servers.EndPoints.First().ToString()).GetString());

        _servers[0].Kill();
        var degraded = await WaitForStatusAsync(http, "Degraded");
        Assert.NotEqual("Up", degraded.GetProperty("entries").GetProperty("ballast").GetProperty("data").GetProperty(_servers.EndPoints.First().ToString()).GetString());
    }

    private static async Task<JsonElement> WaitForStatusAsync(HttpClient http, string wanted)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        JsonElement health;
        do
        {
            await Task.Delay(100);
            health = await HealthAsync(http);
        }
        while (health.GetProperty("status").GetString() != wanted && DateTime.UtcNow < deadline);

        Assert.Equal(wanted, health.GetProperty("status").GetString());
        return health;
    }

    private static async Task<JsonElement> HealthAsync(HttpClient http)
    {
        using var response = await http.GetAsync("/health");
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private WebApplicationFactory<ProductDatabase> Instance() => new WebApplicationFactory<ProductDatabase>().WithWebHostBuilder(web =>
        web.ConfigureAppConfiguration((_, configuration) => configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Ballast:Servers"] = string.Join(",", _servers.EndPoints.Select(e => e.ToString())),
            ["Ballast:OperationTimeout"] = "00:00:03",
            ["Ballast:SharedView:Bound"] = "00:00:10",
        })));
}
