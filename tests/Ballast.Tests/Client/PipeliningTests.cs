using System.Globalization;
using System.Text;
using Ballast.Tests.Support;

namespace Ballast.Tests.Client;

/// <summary>Many concurrent callers share pipelined connections and each gets its own answer.</summary>
public sealed class PipeliningTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Thousands_of_concurrent_mixed_operations_each_get_their_own_answer(int connectionsPerServer)
    {
        await using var servers = await MemcachedServers.StartAsync(2);
        await using var client = new MemcachedClient(servers.Options(o =>
        {
            o.ConnectionsPerServer = connectionsPerServer;
            o.OperationTimeout = TimeSpan.FromSeconds(5);
        }));

        const int Keys = 500;
        for (var i = 0; i < Keys; i++)
        {
            await client.SetAsync($"pipe-{i}", Value(i, 0));
        }

        var versions = new int[Keys];
        var mismatches = 0;
        var operations = Enumerable.Range(0, 6000).Select(async n =>
        {
            // Each key is owned by one caller chain (n % Keys), so its expected value is known exactly.
            var key = n % Keys;
            switch (n % 5)
            {
                case 0:
                case 1:
                    var read = await client.GetAsync($"pipe-{key}");
                    if (read.AsString() is not { } text || !text.StartsWith($"key {key} ", StringComparison.Ordinal))
                    {
                        Interlocked.Increment(ref mismatches);
                    }

                    break;
                case 2:
                    var version = Interlocked.Increment(ref versions[key]);
                    await client.SetAsync($"pipe-{key}", Value(key, version));
                    break;
                case 3:
                    var counter = await client.IncrementAsync($"ctr-{key}", (ulong)key + 1, initial: 0);
                    if (counter.Value % ((ulong)key + 1) != 0)
                    {
                        Interlocked.Increment(ref mismatches);
                    }

                    break;
                default:
                    var many = await client.GetManyAsync([$"pipe-{key}", $"pipe-{(key + 1) % Keys}", $"absent-{key}"]);
                    if (!many[$"pipe-{key}"].AsString()!.StartsWith($"key {key} ", StringComparison.Ordinal)
                        || !many[$"pipe-{(key + 1) % Keys}"].AsString()!.StartsWith($"key {(key + 1) % Keys} ", StringComparison.Ordinal)
                        || many[$"absent-{key}"].IsHit)
                    {
                        Interlocked.Increment(ref mismatches);
                    }

                    break;
            }
        });
        await Task.WhenAll(operations);

        Assert.Equal(0, mismatches);
        for (var i = 0; i < Keys; i++)
        {
            var text = await client.GetStringAsync($"pipe-{i}");
            Assert.StartsWith($"key {i} ", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Values_larger_than_the_receive_buffer_interleave_with_small_ones()
    {
        await using var servers = await MemcachedServers.StartAsync(1);
        await using var client = new MemcachedClient(servers.Options(o => o.ConnectionsPerServer = 1));
        var large = Enumerable.Range(0, 8).Select(i => Encoding.ASCII.GetBytes(new string((char)('a' + i), 200_000 + i))).ToArray();
        for (var i = 0; i < large.Length; i++)
        {
            await client.SetAsync($"big-{i}", large[i]);
            await client.SetAsync($"small-{i}", $"s{i}");
        }

        var reads = Enumerable.Range(0, 400).Select(async n =>
        {
            var i = n % large.Length;
            if (n % 2 == 0)
            {
                Assert.Equal(large[i], (await client.GetAsync($"big-{i}")).Value);
            }
            else
            {
                Assert.Equal($"s{i}", await client.GetStringAsync($"small-{i}"));
            }
        });
        await Task.WhenAll(reads);
    }

    private static byte[] Value(int key, int version) => Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"key {key} version {version} {new string('x', key % 50)}"));
}
