using Ballast.Invalidation;
using Ballast.Protocol;
using Ballast.Protocol.Commands;
using Microsoft.Extensions.Time.Testing;

namespace Ballast.Tests.Integrity;

/// <summary>
/// The grace a write's request still gets once its caller has left (a quarter of the bound), on a clock the test
/// moves: the wait ends when it runs out, not before, and not at all when the answer came first or the caller stayed.
/// The end-to-end case (a store stalled by its server, fenced as the grace runs out) is
/// <c>CancelledInvalidationTests.S8_a_store_whose_caller_left_is_fenced_as_soon_as_its_quarter_of_the_bound_runs_out</c>.
/// </summary>
public sealed class CallerLeftGraceTests
{
    private static readonly ServerEndPoint Server = new("127.0.0.1", 11299);
    private static readonly TimeSpan Grace = TimeSpan.FromMilliseconds(250);

    private static StoreCommand UnansweredStore(string key)
    {
        var command = new StoreCommand(CacheKey.Create(key, InvalidKeyHandling.Reject), "v"u8.ToArray(), StoreMode.Set, 0, 0, 0);

        // Inline, so the test sees the outcome as soon as the clock moves.
        command.RunContinuationsAsynchronously = false;
        return command;
    }

    [Fact]
    public async Task The_wait_fails_with_a_timeout_naming_server_and_key_once_the_grace_after_the_caller_left_runs_out()
    {
        var time = new FakeTimeProvider();
        var command = UnansweredStore("grace:left");
        using var caller = new CancellationTokenSource();
        using var watch = CallerLeftGrace<StoreResult>.Watch(command, Server, caller.Token, Grace, time);
        var answer = command.AsValueTask().AsTask();

        caller.Cancel();
        time.Advance(Grace - TimeSpan.FromMilliseconds(1));
        Assert.False(answer.IsCompleted, "the wait ended before its grace ran out");

        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(answer.IsCompleted, "the wait went on after its grace ran out");
        var error = await Assert.ThrowsAsync<MemcachedTimeoutException>(() => answer);
        Assert.Contains(Server.ToString(), error.Message, StringComparison.Ordinal);
        Assert.Contains("'grace:left'", error.Message, StringComparison.Ordinal);
        Assert.Contains("250 ms after the caller cancelled", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_grace_also_ends_a_wait_for_a_connect_that_holds_the_request_which_is_then_never_sent()
    {
        // A connect through a one-way partition hangs until the connect timeout (here 10 s on a clock that never gets
        // there): the caller's grace must end the write's wait on time, or its invalidation fences the server only
        // after the connect gives up (simulator seed replicated 19005985: a read 1.1 s after the caller left was stale).
        var time = new FakeTimeProvider();
        var transport = new HangingTransport();
        var options = new MemcachedClientOptions { ConnectTimeout = TimeSpan.FromSeconds(10), Runtime = new Runtime.ClientRuntime { Transport = transport } };
        options.Servers.Add(Server);
        await using var node = new Pool.ServerNode(0, Server, options, time, (_, _, _) => { });
        var command = UnansweredStore("grace:connect");
        using var caller = new CancellationTokenSource();
        using var watch = CallerLeftGrace<StoreResult>.Watch(command, Server, caller.Token, Grace, time);
        var answer = node.ExecuteAsync(command, CancellationToken.None).AsTask();
        Assert.True(transport.Connecting.Wait(TimeSpan.FromSeconds(5)), "no connect was started");
        Assert.False(answer.IsCompleted);

        caller.Cancel();
        time.Advance(Grace);
        var error = await Assert.ThrowsAsync<MemcachedTimeoutException>(() => answer.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Contains("'grace:connect'", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A transport whose connects never complete until they are cancelled (the connect timeout).</summary>
    private sealed class HangingTransport : Runtime.IConnectionFactory
    {
        public ManualResetEventSlim Connecting { get; } = new();

        public async ValueTask<Stream> ConnectAsync(string host, int port, CancellationToken cancellationToken)
        {
            Connecting.Set();
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            throw new InvalidOperationException("unreachable");
        }
    }

    [Fact]
    public async Task A_caller_that_already_left_gets_the_grace_from_the_moment_of_the_watch()
    {
        var time = new FakeTimeProvider();
        var command = UnansweredStore("grace:gone");
        using var caller = new CancellationTokenSource();
        caller.Cancel();
        using var watch = CallerLeftGrace<StoreResult>.Watch(command, Server, caller.Token, Grace, time);
        var answer = command.AsValueTask().AsTask();

        Assert.False(answer.IsCompleted);
        time.Advance(Grace);
        Assert.True(answer.IsCompleted, "the wait went on after its grace ran out");
        await Assert.ThrowsAsync<MemcachedTimeoutException>(() => answer);
    }

    [Fact]
    public void A_caller_that_stays_waits_for_the_answer_however_long_it_takes()
    {
        var time = new FakeTimeProvider();
        var command = UnansweredStore("grace:stays");
        using var caller = new CancellationTokenSource();
        using var watch = CallerLeftGrace<StoreResult>.Watch(command, Server, caller.Token, Grace, time);
        var answer = command.AsValueTask().AsTask();

        time.Advance(TimeSpan.FromMinutes(5));
        Assert.False(answer.IsCompleted, "the grace ran although the caller never left");
    }

    [Fact]
    public void A_watch_disposed_once_the_attempt_ended_no_longer_fails_anything()
    {
        var time = new FakeTimeProvider();
        var command = UnansweredStore("grace:done");
        using var caller = new CancellationTokenSource();
        var watch = CallerLeftGrace<StoreResult>.Watch(command, Server, caller.Token, Grace, time);
        var answer = command.AsValueTask().AsTask();

        caller.Cancel();
        watch!.Dispose();
        time.Advance(Grace * 4);
        Assert.False(answer.IsCompleted, "a disposed watch still failed the request");
    }

    [Fact]
    public void A_token_that_cannot_fire_costs_no_watch()
        => Assert.Null(CallerLeftGrace<StoreResult>.Watch(UnansweredStore("grace:none"), Server, CancellationToken.None, Grace, new FakeTimeProvider()));
}
