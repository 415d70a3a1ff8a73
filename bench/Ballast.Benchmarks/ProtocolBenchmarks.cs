using System.Text;
using Ballast.Distribution;
using Ballast.Protocol;
using Ballast.Protocol.Commands;
using BenchmarkDotNet.Attributes;

namespace Ballast.Benchmarks;

/// <summary>Parsing one response of each common kind out of a receive buffer.</summary>
[MemoryDiagnoser]
public class ResponseParsingBenchmarks
{
    private byte[] _value = [];
    private byte[] _header = [];
    private byte[] _end = [];

    [GlobalSetup]
    public void Setup()
    {
        _value = Encoding.ASCII.GetBytes("VA 100 f0 c12345 O17\r\n" + new string('x', 100) + "\r\n");
        _header = Encoding.ASCII.GetBytes("HD c12346 O18\r\n");
        _end = Encoding.ASCII.GetBytes("EN\r\n");
    }

    [Benchmark]
    public int ParseValue()
    {
        MetaResponseParser.TryParse(_value, out var response, out var consumed, out _);
        return consumed + response.Value.Length;
    }

    [Benchmark]
    public int ParseHeader()
    {
        MetaResponseParser.TryParse(_header, out _, out var consumed, out _);
        return consumed;
    }

    [Benchmark]
    public int ParseEnd()
    {
        MetaResponseParser.TryParse(_end, out _, out var consumed, out _);
        return consumed;
    }
}

/// <summary>Formatting requests into a connection's send buffer (the command objects are made once).</summary>
[MemoryDiagnoser]
public class RequestFormattingBenchmarks
{
    private readonly RequestBuffer _buffer = new();
    private GetCommand _get = null!;
    private StoreCommand _store = null!;

    [GlobalSetup]
    public void Setup()
    {
        var key = CacheKey.Create("user:12345:profile", InvalidKeyHandling.Reject);
        _get = new GetCommand(key) { Opaque = 42 };
        _store = new StoreCommand(key, new byte[100], StoreMode.Set, 300, 0, 0) { Opaque = 43 };
    }

    [Benchmark]
    public int FormatGet()
    {
        _buffer.Clear();
        _get.WriteRequest(_buffer);
        return _buffer.Length;
    }

    [Benchmark]
    public int FormatSet100()
    {
        _buffer.Clear();
        _store.WriteRequest(_buffer);
        return _buffer.Length;
    }
}

/// <summary>Key validation: a plain ASCII key, and one that is not (base64-encoded on the wire).</summary>
[MemoryDiagnoser]
public class KeyValidationBenchmarks
{
    [Benchmark]
    public int AsciiKey() => CacheKey.Create("user:12345:profile", InvalidKeyHandling.Reject).ByteCount;

    [Benchmark]
    public int Key250() => CacheKey.Create(LongKey, InvalidKeyHandling.Reject).ByteCount;

    private static readonly string LongKey = new('k', 250);
}

/// <summary>Finding a key's server among 10, per distribution.</summary>
[MemoryDiagnoser]
public class KeyLocatingBenchmarks
{
    private readonly byte[] _key = Encoding.ASCII.GetBytes("user:12345:profile");
    private IServerLocator _locator = null!;

    [Params(KeyDistribution.Ketama, KeyDistribution.PeclConsistent, KeyDistribution.Modula)]
    public KeyDistribution Distribution { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var servers = Enumerable.Range(0, 10).Select(i => new ServerEndPoint("127.0.0.1", 11211 + i)).ToList();
        _locator = ServerLocatorFactory.Create(Distribution, PeclHashFunction.Crc32, servers);
    }

    [Benchmark]
    public int Locate() => _locator.Locate(_key);
}

/// <summary>
/// What the read loop does per get beyond cutting the response out: the opaque check and the flag lookups of a hit
/// (f, c, and the absent W, Z, X), with the value copied into its array; and a request's trip through the in-flight
/// queue.
/// </summary>
[MemoryDiagnoser]
public class ReadPathBenchmarks
{
    private readonly Ballast.Connections.InFlightQueue _queue = new();
    private byte[] _value = [];
    private GetCommand _get = null!;

    [GlobalSetup]
    public void Setup()
    {
        _value = Encoding.ASCII.GetBytes("VA 100 f0 c12345 O17\r\n" + new string('x', 100) + "\r\n");
        _get = new GetCommand(CacheKey.Create("user:12345:profile", InvalidKeyHandling.Reject)) { Opaque = 17 };
    }

    [Benchmark]
    public bool HandleGetHit()
    {
        MetaResponseParser.TryParse(_value, out var response, out _, out _);
        return _get.OnResponse(response);
    }

    [Benchmark]
    public int InFlightEnqueueDequeue()
    {
        _queue.Enqueue(_get);
        _queue.TryDequeue(out var command);
        return command.OpaqueCount;
    }
}
