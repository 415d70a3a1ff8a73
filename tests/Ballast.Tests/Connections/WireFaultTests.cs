using Ballast.Tests.Support;

namespace Ballast.Tests.Connections;

/// <summary>
/// Faults a real memcached does not produce, from a misbehaving in-process server: every one must fail the request
/// it hits with a specific error naming the server, and leave the client correct (connection closed and replaced).
/// </summary>
public sealed class WireFaultTests
{
    [Fact]
    public async Task A_response_with_the_wrong_opaque_poisons_the_connection_and_the_next_request_gets_its_own_answer()
    {
        await using var server = MisbehavingServer.FirstThenEcho(request =>
            new MisbehavingServer.Reply($"VA 5 f0 c1 O999999\r\nwrong\r\n"));
        await using var client = new MemcachedClient(Options(server));

        var error = await Assert.ThrowsAsync<MemcachedProtocolException>(async () => await GetStrictAsync(client, "first"));
        Assert.Contains(server.EndPoint.ToString(), error.Message, StringComparison.Ordinal);
        Assert.Contains("opaque", error.Message, StringComparison.Ordinal);

        Assert.Equal("second", await client.GetStringAsync("second"));
        Assert.Equal(2, server.ConnectionsAccepted);
    }

    [Fact]
    public async Task A_late_answer_is_never_taken_for_the_next_request()
    {
        // The first answer comes after the timeout; the client must have closed that connection, so the late "first"
        // value can never be read as the answer to "second".
        await using var server = MisbehavingServer.FirstThenEcho(request =>
            new MisbehavingServer.Reply(MisbehavingServer.Echo(request), Delay: TimeSpan.FromMilliseconds(600)));
        var options = Options(server);
        options.OperationTimeout = TimeSpan.FromMilliseconds(200);
        await using var client = new MemcachedClient(options);

        var error = await Assert.ThrowsAsync<MemcachedTimeoutException>(async () => await GetStrictAsync(client, "first"));
        Assert.Contains(server.EndPoint.ToString(), error.Message, StringComparison.Ordinal);
        Assert.Contains("'first'", error.Message, StringComparison.Ordinal);

        await Task.Delay(700);
        Assert.Equal("second", await client.GetStringAsync("second"));
        Assert.Equal("third", await client.GetStringAsync("third"));
    }

    [Fact]
    public async Task A_request_sent_right_after_a_timeout_goes_on_a_new_connection_and_gets_its_own_answer()
    {
        // The next request follows the timeout at once, while the late answer is still on its way: had the timed-out
        // request merely been failed on a connection left open, the next request would wait there behind it and
        // receive its answer. The timeout must close the connection, so the next request opens a new one.
        await using var server = MisbehavingServer.FirstThenEcho(request =>
            new MisbehavingServer.Reply(MisbehavingServer.Echo(request), Delay: TimeSpan.FromMilliseconds(600)));
        var options = Options(server);
        options.OperationTimeout = TimeSpan.FromMilliseconds(200);
        await using var client = new MemcachedClient(options);

        await Assert.ThrowsAsync<MemcachedTimeoutException>(async () => await GetStrictAsync(client, "first"));

        Assert.Equal("second", await GetStrictAsync(client, "second"));
        Assert.Equal(2, server.ConnectionsAccepted);
    }

    [Fact]
    public async Task Garbage_from_the_server_is_a_protocol_error_naming_the_server()
    {
        await using var server = MisbehavingServer.FirstThenEcho(request =>
            new MisbehavingServer.Reply("HELLO THERE\r\n"));
        await using var client = new MemcachedClient(Options(server));

        var error = await Assert.ThrowsAsync<MemcachedProtocolException>(async () => await GetStrictAsync(client, "k"));
        Assert.Contains("HELLO THERE", error.Message, StringComparison.Ordinal);
        Assert.Contains(server.EndPoint.ToString(), error.Message, StringComparison.Ordinal);
        Assert.Equal("next", await client.GetStringAsync("next"));
    }

    [Fact]
    public async Task A_close_in_the_middle_of_a_value_fails_the_request_and_the_client_reconnects()
    {
        await using var server = MisbehavingServer.FirstThenEcho(request =>
            new MisbehavingServer.Reply("VA 100 f0 c1 O" + request.Opaque + "\r\nonly-part", CloseAfter: true));
        var options = Options(server);
        options.FailureDetection.ProbeInterval = TimeSpan.FromMilliseconds(20);
        options.Failback.MinimumDownTime = TimeSpan.Zero;
        await using var client = new MemcachedClient(options);

        await Assert.ThrowsAsync<ServerUnavailableException>(async () => await GetStrictAsync(client, "k"));

        // A reset marks the server down at once; the probe readmits it (no shared view here).
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (client.GetServerState(server.EndPoint) != ServerState.Up && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Equal("after", await client.GetStringAsync("after"));
    }

    [Fact]
    public async Task Server_error_fails_only_its_request_and_client_error_replaces_the_connection()
    {
        await using var server = new MisbehavingServer(request => request.Key switch
        {
            "oom" => new MisbehavingServer.Reply("SERVER_ERROR out of memory storing object\r\n"),
            "bad" => new MisbehavingServer.Reply("CLIENT_ERROR bad command line format\r\n"),
            _ => new MisbehavingServer.Reply(MisbehavingServer.Echo(request)),
        });
        await using var client = new MemcachedClient(Options(server));

        var oom = await Assert.ThrowsAsync<MemcachedServerErrorException>(async () => await client.IncrementAsync("oom"));
        Assert.Contains("out of memory", oom.Message, StringComparison.Ordinal);
        Assert.Contains("'oom'", oom.Message, StringComparison.Ordinal);
        Assert.Equal("same-connection", await client.GetStringAsync("same-connection"));
        Assert.Equal(1, server.ConnectionsAccepted);

        await Assert.ThrowsAsync<MemcachedServerErrorException>(async () => await client.IncrementAsync("bad"));
        Assert.Equal("new-connection", await client.GetStringAsync("new-connection"));
        Assert.Equal(2, server.ConnectionsAccepted);
    }

    /// <summary>GetAsync turns server failures into misses (that is the promise); this read surfaces them.</summary>
    private static async Task<string?> GetStrictAsync(MemcachedClient client, string key)
        => (await client.GetFromHomeServerAsync(key)).AsString();

    private static MemcachedClientOptions Options(MisbehavingServer server) => server.ClientOptions(TimeSpan.FromSeconds(2));
}
