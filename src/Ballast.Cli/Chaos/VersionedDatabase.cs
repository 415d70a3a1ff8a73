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

    /// <summary>
    /// A cached value: the version as a JSON string (<c>"v42"</c>, quotes included), so that <c>GetOrCreateAsync</c>
    /// (which stores JSON) and the leased refills of .NET and PHP frontends write and read the same bytes.
    /// </summary>
    public static byte[] Encode(long version) => System.Text.Encoding.ASCII.GetBytes("\"v" + version.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\"");

    /// <summary>The value as <c>GetOrCreateAsync</c> creates it (a string that serializes to <see cref="Encode"/>'s bytes).</summary>
    public static string Text(long version) => "v" + version.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Decodes a cached value; false when it is not one this workload wrote.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> value, out long version)
    {
        version = 0;
        return value.Length > 3 && value[0] == (byte)'"' && value[1] == (byte)'v' && value[^1] == (byte)'"'
            && System.Buffers.Text.Utf8Parser.TryParse(value[2..^1], out version, out var consumed) && consumed == value.Length - 3;
    }

    /// <summary>Decodes a value <c>GetOrCreateAsync</c> returned; false when it is not one this workload wrote.</summary>
    public static bool TryDecode(string? text, out long version)
    {
        version = 0;
        return text is ['v', .. var digits] && long.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out version);
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
