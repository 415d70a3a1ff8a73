using System.Globalization;

namespace Ballast.Cli.Chaos;

/// <summary>
/// The keys of a run, as indexes of the <see cref="VersionedDatabase"/> and the history: the workload's keys
/// (<c>chaos:k*</c>, also the PHP frontends'), then as many keys for the <c>IDistributedCache</c> share
/// (<c>chaos:dc:k*</c>), then one key per server for the <see cref="FaultKind.Restart"/> fault (<c>chaos:lease:*</c>,
/// chosen so that it lives on that server). Each key's server is where the first frontend places it.
/// </summary>
public sealed class KeySpace
{
    private readonly string[] _names;

    /// <summary>Names the keys of a run of <paramref name="keys"/> workload keys, placing them with <paramref name="locate"/>.</summary>
    /// <param name="keys">The workload's keys (<see cref="ChaosOptions.Keys"/>).</param>
    /// <param name="servers">The main servers.</param>
    /// <param name="locate">The index of the main server a key lives on (the first frontend's placement).</param>
    public KeySpace(int keys, int servers, Func<string, int> locate)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(keys, 1);
        ArgumentNullException.ThrowIfNull(locate);
        Keys = keys;
        _names = new string[(2 * keys) + servers];
        for (var k = 0; k < keys; k++)
        {
            _names[k] = VersionedDatabase.CacheKey(k);
            _names[keys + k] = "chaos:dc:k" + k.ToString(CultureInfo.InvariantCulture);
        }

        for (var s = 0; s < servers; s++)
        {
            _names[(2 * keys) + s] = Enumerable.Range(0, 100_000)
                .Select(i => string.Create(CultureInfo.InvariantCulture, $"chaos:lease:{s}:{i}"))
                .First(name => locate(name) == s);
        }

        Servers = _names.Select(locate).ToArray();
    }

    /// <summary>The workload's keys: indexes 0 to <c>Keys - 1</c>.</summary>
    public int Keys { get; }

    /// <summary>Every key's index → its main server's index.</summary>
    public IReadOnlyList<int> Servers { get; }

    /// <summary>Every key's name, by index.</summary>
    public IReadOnlyList<string> Names => _names;

    /// <summary>How many keys the database must hold.</summary>
    public int Count => _names.Length;

    /// <summary>The index of the <c>IDistributedCache</c> key that goes with workload key <paramref name="key"/>.</summary>
    public int DistributedCacheKey(int key) => Keys + key;

    /// <summary>The index of the <see cref="FaultKind.Restart"/> key that lives on <paramref name="server"/>.</summary>
    public int LeaseKey(int server) => (2 * Keys) + server;

    /// <summary>The name of the key at <paramref name="index"/>.</summary>
    public string Name(int index) => _names[index];
}
