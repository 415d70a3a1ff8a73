using System.Collections.Concurrent;

namespace Ballast.Sample.Api;

/// <summary>Stands in for the application's database: counts its reads, so the sample shows what the cache saves.</summary>
public sealed class ProductDatabase
{
    private readonly ConcurrentDictionary<int, Product> _rows = new();
    private int _reads;

    /// <summary>How many times the "database" was read.</summary>
    public int Reads => Volatile.Read(ref _reads);

    /// <summary>Reads a row (slowly, as a database would).</summary>
    public async ValueTask<Product> ReadAsync(int id, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _reads);
        await Task.Delay(50, cancellationToken);
        return _rows.GetOrAdd(id, i => new Product(i, $"Product {i}", 10m * i));
    }

    /// <summary>Writes a row.</summary>
    public void Write(Product product) => _rows[product.Id] = product;
}
