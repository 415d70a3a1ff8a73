namespace Ballast.Cli.Chaos;

/// <summary>
/// The authoritative store of the cache-aside workload: each key is a version counter. Thread-safe; reads and
/// writes are linearizable (single atomic words).
/// </summary>
public sealed class VersionedDatabase
{
    private readonly long[] _versions;

    /// <summary>Creates a database of <paramref name="keys"/> keys, all at version 0.</summary>
    public VersionedDatabase(int keys)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(keys, 1);
        _versions = new long[keys];
    }

    /// <summary>The number of keys.</summary>
    public int Count => _versions.Length;

    /// <summary>The current version of a key.</summary>
    public long Read(int key) => Volatile.Read(ref _versions[key]);

    /// <summary>Makes a new version of a key and returns it.</summary>
    public long Write(int key) => Interlocked.Increment(ref _versions[key]);

    /// <summary>The cache key of a key index.</summary>
    public static string CacheKey(int key) => "chaos:k" + key.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The cached value for a version.</summary>
    public static byte[] Encode(long version) => System.Text.Encoding.ASCII.GetBytes("v" + version.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Decodes a cached value; false when it is not one this workload wrote.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> value, out long version)
    {
        version = 0;
        return value.Length > 1 && value[0] == (byte)'v'
            && System.Buffers.Text.Utf8Parser.TryParse(value[1..], out version, out var consumed) && consumed == value.Length - 1;
    }
}

/// <summary>Samples key indexes 0..n-1 with probability proportional to 1/(i+1)^s.</summary>
public sealed class ZipfSampler
{
    private readonly double[] _cumulative;

    /// <summary>Creates a sampler over <paramref name="count"/> keys with exponent <paramref name="exponent"/>.</summary>
    public ZipfSampler(int count, double exponent)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        _cumulative = new double[count];
        var sum = 0.0;
        for (var i = 0; i < count; i++)
        {
            sum += 1.0 / Math.Pow(i + 1, exponent);
            _cumulative[i] = sum;
        }

        for (var i = 0; i < count; i++)
        {
            _cumulative[i] /= sum;
        }

        _cumulative[^1] = 1.0;
    }

    /// <summary>Draws one key index.</summary>
    public int Next(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var u = random.NextDouble();
        var index = Array.BinarySearch(_cumulative, u);
        index = index >= 0 ? index : ~index;
        return Math.Min(index, _cumulative.Length - 1);
    }
}
