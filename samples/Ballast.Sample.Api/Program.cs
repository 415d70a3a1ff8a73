using System.Text.Json;
using Ballast;
using Ballast.Sample.Api;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Caching.Hybrid;

var builder = WebApplication.CreateBuilder(args);

// Ballast: one client for the pool in "Ballast:Servers", IDistributedCache over it, HybridCache using it as its
// second level, and a health check. The client logs through the host's logging.
builder.Services.AddBallast(builder.Configuration.GetSection("Ballast"));
builder.Services.AddBallastDistributedCache();
builder.Services.AddHybridCache();
builder.Services.AddHealthChecks().AddBallast();
builder.Services.AddSingleton<ProductDatabase>();

var app = builder.Build();

// HybridCache: memory first, then memcached, then the database; a second instance of this app finds the entry in
// memcached without reading the database.
app.MapGet("/products/{id:int}", async (int id, HybridCache cache, ProductDatabase database, CancellationToken cancellationToken) =>
    await cache.GetOrCreateAsync($"product:{id}", async ct => await database.ReadAsync(id, ct), cancellationToken: cancellationToken));

// A write: update the database, then invalidate. Ballast's delete returns once confirmed or the server is fenced.
app.MapPut("/products/{id:int}", async (int id, Product product, HybridCache cache, ProductDatabase database, CancellationToken cancellationToken) =>
{
    database.Write(product with { Id = id });
    await cache.RemoveAsync($"product:{id}", cancellationToken);
    return Results.NoContent();
});

// The client directly: GetOrCreateAsync with stampede protection across every instance of the app.
app.MapGet("/prices/{id:int}", async (int id, IMemcachedClient client, ProductDatabase database, CancellationToken cancellationToken) =>
    await client.GetOrCreateAsync($"price:{id}", ct => database.ReadAsync(id, ct), SampleJsonContext.Default.Product, TimeSpan.FromMinutes(5), cancellationToken));

app.MapGet("/database/reads", (ProductDatabase database) => database.Reads);

// Health: Healthy, Degraded (a server down, the view stale, invalidations owed) or Unhealthy (no quorum), with each
// server's state in the JSON.
app.MapHealthChecks("/health", new HealthCheckOptions
{
    ResponseWriter = async (context, report) =>
    {
        context.Response.ContentType = "application/json";
        var entries = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description, data = e.Value.Data });
        await JsonSerializer.SerializeAsync(context.Response.Body, new { status = report.Status.ToString(), entries });
    },
});

app.Run();
