using System.Text;
using static Ballast.Tests.Security.ScriptedConnection;

namespace Ballast.Tests.Security;

/// <summary>
/// The hostile-response corpus: scripted server answers that a real memcached never sends, each played into a real
/// connection. Every one must fail the request it hits with a <see cref="MemcachedProtocolException"/> (or complete it
/// correctly where the bytes are valid), fail everything behind it, and never hand one request another's answer.
/// </summary>
public sealed class HostileResponseCorpusTests
{
    public static TheoryData<string, string, string> RefusedFirstAnswers => new()
    {
        // name, the answer to "mg a" (opaque O0), words the error must contain
        { "huge size", "VA 2000000000 f0 c1 O0\r\n", "item size limit" },
        { "size past int", "VA 4294967297 f0 c1 O0\r\n", "item size limit" },
        { "size past ulong", "VA 99999999999999999999999 f0 c1 O0\r\n", "not a decimal" },
        { "negative size", "VA -1 f0 c1 O0\r\n", "not a decimal" },
        { "leading zero size", "VA 01 f0 c1 O0\r\nx\r\n", "not a decimal" },
        { "plus sign size", "VA +1 f0 c1 O0\r\nx\r\n", "not a decimal" },
        { "no CRLF after value", "VA 1 f0 c1 O0\r\nxyz\r\n", "not followed by CRLF" },
        { "flags past 2^32", "VA 1 f4294967296 c1 O0\r\nx\r\n", "at most 4294967295" },
        { "duplicate opaque", "VA 1 f0 c1 O0 O0\r\nx\r\n", "twice" },
        { "duplicate flags", "VA 1 f0 f1 c1 O0\r\nx\r\n", "twice" },
        { "opaque with trailing bytes", "VA 1 f0 c1 O0abc\r\nx\r\n", "opaque" },
        { "opaque of another request", "VA 1 f0 c1 O7\r\nx\r\n", "opaque" },
        { "opaque out of range", "VA 1 f0 c1 O99999999999\r\nx\r\n", "opaque" },
        { "no opaque", "VA 1 f0 c1\r\nx\r\n", "opaque" },
        { "cas not a number", "VA 1 f0 cX O0\r\nx\r\n", "not a decimal" },
        { "unknown status", "ZZ O0\r\n", "unexpected response line" },
        { "control bytes", "\u0001\u0002\u0003\r\n", "\\x01" },
        { "stats line to a get", "STAT pid 1\r\n", "opaque" },
        { "60 KB line", "HD O0 " + new string('x', 60 * 1024) + "\r\n", "8192 bytes" },
        { "60 KB without CRLF", new string('y', 60 * 1024), "8192 bytes without CRLF" },
        { "9 KB line", "HD O0 " + new string('x', 9 * 1024) + "\r\n", "8192 bytes" },
        { "bare LF merges two lines", "HD O0\n", "twice" },
    };

    [Theory]
    [MemberData(nameof(RefusedFirstAnswers))]
    public async Task A_hostile_answer_fails_its_request_and_everything_behind_it(string name, string answer, string words)
    {
        var first = Get("a");
        var second = Get("b");
        var (connection, outcomes) = Run([first, second], [Bytes(answer), Bytes("VA 1 f0 c1 O1\r\nb\r\n")], endWithEof: false);

        var error = await Assert.ThrowsAsync<MemcachedProtocolException>(() => outcomes[0]).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains(words, error.Message, StringComparison.Ordinal);
        Assert.Contains(Server.ToString(), error.Message, StringComparison.Ordinal);
        Assert.True(error.Message.Length < 2_000, $"{name}: the message is {error.Message.Length} characters");
        await Assert.ThrowsAnyAsync<MemcachedException>(() => outcomes[1]).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(connection.IsHealthy);
        await connection.DisposeAsync();
    }

    [Fact]
    public async Task A_value_split_at_every_byte_boundary_is_read_whole()
    {
        var response = Bytes("VA 11 f7 c42 O0\r\nhello world\r\nHD c43 O1\r\n");
        for (var cut = 1; cut < response.Length; cut++)
        {
            var get = Get("k");
            var set = Set("s", "v");
            var (_, outcomes) = Run([get, set], [response[..cut], response[cut..]]);
            var result = await Result<GetResult>(outcomes[0]);
            Assert.Equal("hello world", result.AsString());
            Assert.Equal(7u, result.Flags);
            Assert.Equal(42ul, result.Cas);
            Assert.Equal(StoreStatus.Stored, (await Result<StoreResult>(outcomes[1])).Status);
            Assert.True(outcomes.All(o => o.IsCompletedSuccessfully));
        }
    }

    [Fact]
    public async Task A_response_delivered_one_byte_at_a_time_is_read_whole()
    {
        var response = Bytes("VA 3 f0 c1 O0\r\nabc\r\nEN O1\r\nVA 2 f0 c1 O2\r\nxy\r\nMN\r\n");
        var get = Get("k");
        var none = Get("missing");
        var many = GetMany("m1", "m2");
        var (_, outcomes) = Run([get, none, many], response.Select(b => new[] { b }).ToArray());

        Assert.Equal("abc", (await Result<GetResult>(outcomes[0])).AsString());
        Assert.False((await Result<GetResult>(outcomes[1])).IsHit);
        var results = await Result<GetResult[]>(outcomes[2]);
        Assert.Equal("xy", results[0].AsString());
        Assert.False(results[1].IsHit);
    }

    [Fact]
    public async Task A_close_in_the_middle_of_a_value_fails_the_request_as_unavailable()
    {
        var get = Get("k");
        var (_, outcomes) = Run([get], [Bytes("VA 100 f0 c1 O0\r\nonly-part")], endWithEof: true);
        var error = await Assert.ThrowsAsync<ServerUnavailableException>(() => outcomes[0]).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains("closed the connection", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unsolicited_answer_poisons_the_connection_and_fails_the_requests_after_it()
    {
        var get = Get("k");
        var next = Get("n");
        var (connection, outcomes) = Run([get, next], [Bytes("VA 1 f0 c1 O0\r\nk\r\nHD O1\r\nHD O77\r\n")], endWithEof: false);
        Assert.Equal("k", (await Result<GetResult>(outcomes[0])).AsString());
        Assert.Equal(0, (await Result<GetResult>(outcomes[1])).Value?.Length);
        for (var i = 0; i < 100 && connection.IsHealthy; i++)
        {
            await Task.Delay(20);
        }

        Assert.False(connection.IsHealthy);
        Assert.All(outcomes, o => Assert.True(o.IsCompletedSuccessfully));
    }

    [Fact]
    public async Task A_multi_get_refuses_an_opaque_outside_its_batch_a_repeated_key_and_a_smuggled_opaque()
    {
        foreach (var (answer, words) in new[]
        {
            ("VA 1 f0 c1 O5\r\nx\r\nMN\r\n", "outside the batch"),
            ("VA 1 f0 c1 O1\r\nx\r\nVA 1 f0 c1 O1\r\ny\r\nMN\r\n", "second value"),
            ("VA 1 f0 c1 O1abc\r\nx\r\nMN\r\n", "no valid opaque"),
        })
        {
            var many = GetMany("a", "b", "c");
            var (_, outcomes) = Run([many], [Bytes(answer)]);
            var error = await Assert.ThrowsAsync<MemcachedProtocolException>(() => outcomes[0]).WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Contains(words, error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_flood_of_stat_lines_is_refused_at_the_cap()
    {
        var flood = new StringBuilder();
        for (var i = 0; i <= Ballast.Protocol.Commands.TextCommand.MaxStatLines; i++)
        {
            flood.Append("STAT s").Append(i).Append(" 1\r\n");
        }

        var stats = Ballast.Protocol.Commands.TextCommand.Stats();
        var (_, outcomes) = Run([stats], [Bytes(flood.ToString())]);
        var error = await Assert.ThrowsAsync<MemcachedProtocolException>(() => outcomes[0]).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains("STAT lines", error.Message, StringComparison.Ordinal);

        var fine = Ballast.Protocol.Commands.TextCommand.Stats();
        var (_, answered) = Run([fine], [Bytes("STAT pid 7\r\nSTAT uptime 3\r\nEND\r\n")]);
        Assert.Equal("7", (await Result<IReadOnlyDictionary<string, string>>(answered[0]))["pid"]);
    }

    [Fact]
    public async Task A_server_error_in_the_middle_fails_only_its_request()
    {
        var a = Get("a");
        var b = Get("b");
        var c = Get("c");
        var (_, outcomes) = Run([a, b, c], [Bytes("VA 1 f0 c1 O0\r\na\r\nSERVER_ERROR out of memory\r\nVA 1 f0 c1 O2\r\nc\r\n")]);
        Assert.Equal("a", (await Result<GetResult>(outcomes[0])).AsString());
        await Assert.ThrowsAsync<MemcachedServerErrorException>(() => outcomes[1]);
        Assert.Equal("c", (await Result<GetResult>(outcomes[2])).AsString());
    }

    [Fact]
    public async Task A_stalled_stream_fails_every_request_at_the_timeout_and_no_later()
    {
        var time = new Support.ManualTimeProvider();
        time.Advance(TimeSpan.FromSeconds(1)); // a write stamped at clock 0 would read as "not yet sent"
        var commands = Enumerable.Range(0, 50).Select(i => Get($"k{i}")).ToArray();
        var (_, outcomes) = Run(commands, [Bytes("VA 1 f0 c1 O0\r\nk")], endWithEof: false, DefaultOptions(TimeSpan.FromSeconds(1)), time);
        await Task.Delay(50);
        Assert.DoesNotContain(outcomes, o => o.IsCompleted);

        time.Advance(TimeSpan.FromMilliseconds(1200));
        var all = Task.WhenAll(outcomes);
        await Assert.ThrowsAnyAsync<MemcachedException>(() => all.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.All(outcomes, o => Assert.IsType<MemcachedTimeoutException>(o.Exception!.InnerException));
        Assert.Equal(50, outcomes.Select(o => o.Exception!.InnerException).Distinct(ReferenceEqualityComparer.Instance).Count());
    }

    private static Task<T> Result<T>(Task outcome) => ((Task<T>)outcome).WaitAsync(TimeSpan.FromSeconds(10));

    private static byte[] Bytes(string text) => Encoding.Latin1.GetBytes(text);
}
