using System.Buffers;
using System.Text;
using Ballast.Tests.Support;

namespace Ballast.Tests.Client;

/// <summary>
/// <see cref="MemcachedClient.GetAsync(string, IBufferWriter{byte}, CancellationToken)"/>: values copied into the
/// caller's buffer, against real memcached (and an in-process server for the late answer).
/// </summary>
public sealed class BufferedGetTests : IAsyncLifetime
{
    private MemcachedServers _servers = null!;
    private MemcachedClient _client = null!;

    public async Task InitializeAsync()
    {
        _servers = await MemcachedServers.StartAsync(1);
        _client = new MemcachedClient(_servers.Options());
    }

    public async Task DisposeAsync()
    {
        await _client.DisposeAsync();
        await _servers.DisposeAsync();
    }

    [Fact]
    public async Task A_hit_appends_the_value_after_what_the_buffer_holds_and_reports_length_flags_and_cas()
    {
        var stored = await _client.SetAsync("buffered", Encoding.UTF8.GetBytes("hello world"), flags: 42);
        var buffer = new ArrayBufferWriter<byte>();
        buffer.Write("prefix:"u8);

        var read = await _client.GetAsync("buffered", buffer);

        Assert.True(read.IsHit);
        Assert.Equal(11, read.Length);
        Assert.Equal(42u, read.Flags);
        Assert.Equal(stored.Cas, read.Cas);
        Assert.Equal("prefix:hello world", Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    [Fact]
    public async Task A_miss_writes_nothing()
    {
        var buffer = new ArrayBufferWriter<byte>();

        var read = await _client.GetAsync("never-set-buffered", buffer);

        Assert.Equal(BufferedGetResult.Miss, read);
        Assert.Equal(0, buffer.WrittenCount);
    }

    [Fact]
    public async Task A_large_value_arrives_whole()
    {
        var value = new byte[600_000];
        new Random(7).NextBytes(value);
        await _client.SetAsync("buffered-large", value);
        var buffer = new ArrayBufferWriter<byte>(16);

        var read = await _client.GetAsync("buffered-large", buffer);

        Assert.Equal(value.Length, read.Length);
        Assert.True(buffer.WrittenSpan.SequenceEqual(value));
    }

    [Fact]
    public async Task Concurrent_reads_each_get_their_own_value_in_their_own_buffer()
    {
        // Many reads share one pipelined connection and pooled commands: every buffer must hold exactly its key's value.
        for (var i = 0; i < 50; i++)
        {
            await _client.SetAsync($"bk{i}", $"value-of-{i}");
        }

        var reads = Enumerable.Range(0, 4000).Select(async n =>
        {
            var i = n % 50;
            var buffer = new ArrayBufferWriter<byte>();
            var read = await _client.GetAsync($"bk{i}", buffer);
            return (i, read, text: Encoding.UTF8.GetString(buffer.WrittenSpan));
        });

        foreach (var (i, read, text) in await Task.WhenAll(reads))
        {
            Assert.True(read.IsHit);
            Assert.Equal($"value-of-{i}", text);
        }
    }

    [Fact]
    public async Task A_stale_item_and_a_lease_placeholder_are_misses_and_write_nothing()
    {
        await _client.SetAsync("buffered-stale", "old");
        Assert.True(await _client.MarkStaleAsync("buffered-stale", TimeSpan.FromSeconds(30)));
        var leased = await _client.GetForRefillAsync("buffered-leased");
        Assert.NotNull(leased.Lease);
        var buffer = new ArrayBufferWriter<byte>();

        var stale = await _client.GetAsync("buffered-stale", buffer);
        var placeholder = await _client.GetAsync("buffered-leased", buffer);

        Assert.False(stale.IsHit);
        Assert.False(placeholder.IsHit);
        Assert.Equal(0, buffer.WrittenCount);
    }

    [Fact]
    public async Task A_buffer_that_refuses_the_value_fails_only_that_read_naming_key_and_server()
    {
        await _client.SetAsync("buffered-big", new byte[1000]);
        await _client.SetAsync("buffered-small", "fine");

        var error = await Assert.ThrowsAsync<MemcachedException>(async () => await _client.GetAsync("buffered-big", new FixedBuffer(10)));
        var after = new ArrayBufferWriter<byte>();
        var next = await _client.GetAsync("buffered-small", after);

        Assert.Contains("'buffered-big'", error.Message, StringComparison.Ordinal);
        Assert.Contains(_servers[0].EndPoint, error.Message, StringComparison.Ordinal);
        Assert.IsType<InvalidOperationException>(error.InnerException);
        Assert.True(next.IsHit);
        Assert.Equal("fine", Encoding.UTF8.GetString(after.WrittenSpan));
    }

    [Fact]
    public async Task A_down_server_is_a_miss()
    {
        await _client.SetAsync("buffered-down", "x");
        await _servers[0].DisposeAsync();
        var buffer = new ArrayBufferWriter<byte>();

        var read = await _client.GetAsync("buffered-down", buffer);

        Assert.False(read.IsHit);
        Assert.Equal(0, buffer.WrittenCount);
    }

    [Theory]
    [InlineData(FailoverPolicy.Replicated)]
    [InlineData(FailoverPolicy.Gutter)]
    [InlineData(FailoverPolicy.Rehash)]
    public async Task Under_every_policy_the_buffer_gets_the_callers_bytes_not_the_stored_envelope(FailoverPolicy policy)
    {
        await using var servers = await MemcachedServers.StartAsync(3);
        await using var client = new MemcachedClient(servers.Options(o =>
        {
            o.FailoverPolicy = policy;
            if (policy == FailoverPolicy.Gutter)
            {
                o.Gutter.Servers.Add(servers.EndPoints.Last());
            }
        }));
        await client.SetAsync("enveloped", "the caller's bytes");
        var buffer = new ArrayBufferWriter<byte>();

        var read = await client.GetAsync("enveloped", buffer);

        Assert.True(read.IsHit);
        Assert.Equal("the caller's bytes", Encoding.UTF8.GetString(buffer.WrittenSpan));
        Assert.Equal(buffer.WrittenCount, read.Length);
    }

    [Fact]
    public async Task Under_the_replicated_policy_a_buffer_that_refuses_the_value_fails_with_a_message_naming_the_key()
    {
        await using var servers = await MemcachedServers.StartAsync(3);
        await using var client = new MemcachedClient(servers.Options(o => o.FailoverPolicy = FailoverPolicy.Replicated));
        await client.SetAsync("replicated-big", new byte[1000]);

        var error = await Assert.ThrowsAsync<MemcachedException>(async () => await client.GetAsync("replicated-big", new FixedBuffer(10)));

        Assert.Contains("'replicated-big'", error.Message, StringComparison.Ordinal);
        Assert.IsType<InvalidOperationException>(error.InnerException);
    }

    [Fact]
    public async Task A_malformed_hit_fails_the_read_as_a_miss_instead_of_leaving_it_waiting()
    {
        // The CAS flag is not a number: a protocol error, which poisons the connection; the read must end (a miss,
        // as for any server failure), with nothing written into the buffer.
        await using var server = new MisbehavingServer(request => request.Command == "mg"
            ? new MisbehavingServer.Reply($"VA 5 f0 cXYZ O{request.Opaque}\r\nhello\r\n")
            : new MisbehavingServer.Reply(MisbehavingServer.Echo(request)));
        await using var client = new MemcachedClient(server.ClientOptions(TimeSpan.FromSeconds(5)));
        var buffer = new ArrayBufferWriter<byte>();

        var read = await client.GetAsync("malformed", buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(4));

        Assert.False(read.IsHit);
        Assert.Equal(0, buffer.WrittenCount);
    }

    [Fact]
    public async Task After_a_cancellation_a_late_answer_is_not_written_into_the_buffer()
    {
        // The first answer comes 500 ms late; the caller gives up after 50 ms and must be able to reuse its buffer.
        await using var server = MisbehavingServer.FirstThenEcho(request =>
            new MisbehavingServer.Reply(MisbehavingServer.Echo(request), Delay: TimeSpan.FromMilliseconds(500)));
        await using var client = new MemcachedClient(server.ClientOptions(TimeSpan.FromSeconds(5)));
        var first = new ArrayBufferWriter<byte>();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await client.GetAsync("late", first, cancel.Token));
        var second = new ArrayBufferWriter<byte>();
        var next = await client.GetAsync("second", second);

        // Answers come in order on the one connection, so the late answer has been read by the time "second" is.
        Assert.Equal("second", Encoding.UTF8.GetString(second.WrittenSpan));
        Assert.True(next.IsHit);
        Assert.Equal(0, first.WrittenCount);
    }

    /// <summary>A writer with a fixed capacity that throws when asked for more, as a caller's own buffer might.</summary>
    private sealed class FixedBuffer(int capacity) : IBufferWriter<byte>
    {
        private readonly byte[] _memory = new byte[capacity];
        private int _written;

        public void Advance(int count) => _written += count;

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            var free = _memory.Length - _written;
            return free == 0 || sizeHint > free
                ? throw new InvalidOperationException($"this buffer holds {_memory.Length} bytes, and {Math.Max(sizeHint, 1)} more were asked for")
                : _memory.AsMemory(_written);
        }

        public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
    }
}
