using System.Diagnostics;
using Ballast.FaultInjection;

namespace Ballast.Tests.Integrity;

/// <summary>
/// S8: the caller gives up. A's link to S goes dark, B still reaches S, and A's delete is cancelled at some point
/// (an aborted HTTP request). The caller may see its cancellation, but the invalidation goes on: S is fenced, and B
/// stops reading the old value within the bound measured from the moment A's call returned.
/// </summary>
[Collection(WallClockBoundCollection.Name)]
public sealed class CancelledInvalidationTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(1);

    [Theory]
    [InlineData(FailoverPolicy.Offline, -1)]
    [InlineData(FailoverPolicy.Offline, 0)]
    [InlineData(FailoverPolicy.Offline, 5)]
    [InlineData(FailoverPolicy.Offline, 30)]
    [InlineData(FailoverPolicy.Offline, 150)]
    [InlineData(FailoverPolicy.Offline, 280)]
    [InlineData(FailoverPolicy.Gutter, 30)]
    [InlineData(FailoverPolicy.Gutter, -1)]
    [InlineData(FailoverPolicy.Replicated, 30)]
    public async Task S8_a_delete_cancelled_at_any_point_leaves_no_stale_read_beyond_the_bound(FailoverPolicy policy, int cancelAfterMs)
    {
        await using var harness = await IntegrityHarness.StartAsync(policy, frontendCount: 2);
        var key = harness.KeyOn(0, "s8");
        Assert.Equal(1, await harness.ReadAsync(0, key));
        Assert.Equal(1, await harness.ReadAsync(1, key));

        harness.Cut(0, 0);
        using var abort = new CancellationTokenSource();
        if (cancelAfterMs < 0)
        {
            await abort.CancelAsync();
        }
        else
        {
            abort.CancelAfter(cancelAfterMs);
        }

        var written = await harness.WriteAsync(0, key, abort.Token);
        var returned = Stopwatch.StartNew();
        var (inside, beyond, last) = await harness.CountStaleReadsAsync(1, key, written, returned, Bound, TimeSpan.FromSeconds(2.5));

        output.WriteLine($"{policy}, cancelled at {cancelAfterMs} ms: {string.Join("; ", harness.WriteErrors)}; stale inside B: {inside}, beyond: {beyond}, last stale read began {last?.TotalMilliseconds ?? 0:0} ms after A's call returned");
        Assert.Equal(0, beyond);
        Assert.Contains(harness.Failures, f => f.Server == harness.EndPoint(0));
        Assert.Equal(0, harness.Frontends[0].BackgroundFailures);
    }

    [Theory]
    [InlineData(FailoverPolicy.Offline)]
    [InlineData(FailoverPolicy.Gutter)]
    public async Task S8_a_store_cancelled_while_its_fate_is_unknown_is_invalidated_all_the_same(FailoverPolicy policy)
    {
        await using var harness = await IntegrityHarness.StartAsync(policy, frontendCount: 2);
        var key = harness.KeyOn(0, "s8-store");
        Assert.Equal(1, await harness.ReadAsync(0, key));
        Assert.Equal(1, await harness.ReadAsync(1, key));

        // A writes the database, then sets the new value instead of deleting; its link is dark, and it gives up.
        harness.Cut(0, 0);
        Assert.Equal(0, await StaleReadsBeyondTheBoundAfterACancelledSetAsync(harness, key, policy.ToString()));
    }

    /// <summary>
    /// The clock of a store whose caller left: from the caller's return its request has a quarter of the bound to be
    /// answered, and when that runs out the server is fenced at once, with no delete attempted first (an attempt would
    /// wait another quarter while other frontends read the old value, and the quarters are what the bound B measured
    /// from the caller's return is made of). Measured on A itself, where the fence begins: A marks the server down
    /// when it fences it. With B = 4 s (wide margins for a loaded machine) and an operation timeout longer than that
    /// (so no timeout of the connection marks it down earlier), the fence must begin within 7/16 of B of the caller's
    /// return: it comes at 1/4 of B (seen: 1.00-1.21 s, the first fence of a process the slowest), and with a delete
    /// attempt first (mutant 48) at 2/4, two timers of a quarter each, never earlier.
    /// </summary>
    [Theory]
    [InlineData(FailoverPolicy.Offline)]
    [InlineData(FailoverPolicy.Gutter)]
    public async Task S8_a_store_whose_caller_left_is_fenced_as_soon_as_its_quarter_of_the_bound_runs_out(FailoverPolicy policy)
    {
        var bound = TimeSpan.FromSeconds(4);
        await using var harness = await IntegrityHarness.StartAsync(policy, frontendCount: 2, configure: options =>
        {
            options.SharedView.Bound = bound;
            options.OperationTimeout = TimeSpan.FromSeconds(10);
        });
        var key = harness.KeyOn(0, "s8-store-clock");
        Assert.Equal(1, await harness.ReadAsync(0, key));

        harness.Cut(0, 0);
        var written = harness.DatabaseVersionAfterWrite(key);
        using var abort = new CancellationTokenSource(30);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await harness.Frontends[0].SetAsync(key, $"v{written}", cancellationToken: abort.Token));
        var returnedAt = DateTimeOffset.UtcNow;
        var server = harness.EndPoint(0);
        Assert.True(await IntegrityHarness.WaitUntilAsync(() => harness.Failures.Any(f => f.Server == server), TimeSpan.FromSeconds(3)), "A never fenced the server its store could not reach");
        var fenced = harness.Failures.First(f => f.Server == server);
        var after = fenced.Time - returnedAt;

        output.WriteLine($"{policy}: A marked the server down {after.TotalMilliseconds:0} ms after its caller's return ({fenced})");
        Assert.True(after < bound * 7 / 16, $"A began the fence {after.TotalMilliseconds:0} ms after its caller's return, more than a quarter of the bound ({bound.TotalMilliseconds / 4:0} ms) and its slack: {fenced}");
    }

    /// <summary>
    /// A's set is on a slow link (below the operation timeout) when A gives up; B changes the source again and deletes
    /// the key, and B's delete reaches the server first. A's set lands after it: without more, its older value would
    /// stay cached. A store that lands after its caller left is followed by a delete (simulator seed offline 3004436).
    /// </summary>
    [Theory]
    [InlineData(FailoverPolicy.Offline)]
    [InlineData(FailoverPolicy.Gutter)]
    public async Task S8_a_store_that_lands_after_its_caller_left_is_deleted_after_it(FailoverPolicy policy)
    {
        await using var harness = await IntegrityHarness.StartAsync(policy, frontendCount: 2);
        var key = harness.KeyOn(0, "s8-late-store");
        Assert.Equal(1, await harness.ReadAsync(0, key));

        // 100 ms each way: A's set is answered within a quarter of the bound after A leaves, so it counts as landed (a
        // slower answer makes it a store of unknown fate, which fences the server: S8's other store test).
        harness.Proxy(0, 0).SetMode(ProxyFaultMode.Latency, TimeSpan.FromMilliseconds(100));
        var older = harness.DatabaseVersionAfterWrite(key);
        using var abort = new CancellationTokenSource(30);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await harness.Frontends[0].SetAsync(key, $"v{older}", cancellationToken: abort.Token));

        harness.DatabaseVersionAfterWrite(key);
        await harness.Frontends[1].DeleteAsync(key);
        Assert.Null(await harness.DirectGetAsync(0, key));

        // A's set lands about 100 ms after it was sent, after B's delete; the delete after it, 200 ms later. Watched for 2.5 s.
        var watch = Stopwatch.StartNew();
        string? cached = null;
        var sawLateStore = false;
        while (watch.Elapsed < TimeSpan.FromSeconds(2.5))
        {
            await Task.Delay(50);
            cached = await harness.DirectGetAsync(0, key);
            sawLateStore |= cached == $"v{older}";
        }

        output.WriteLine($"{policy}: the late store was seen: {sawLateStore}; the key at the end: {cached ?? "(none)"}");
        Assert.Null(cached);
    }

    /// <summary>
    /// Under Gutter, a set during an outage owes the delete of the key on its own server, then writes the gutter. A
    /// caller who leaves during the owed delete (sent at once to a server that still answers this frontend, here over a
    /// slow link) must not leave the gutter as it was: another frontend's gutter entry of this outage, older than this
    /// write, would be served to every frontend for the rest of the outage. The key is invalidated in the gutter instead
    /// (simulator seed gutter 61003979: a refill whose lease was taken before the set landed 0.3 ms before its caller
    /// left, and was served 1.01 s after the set returned). Frontend 1 is cut from S0 and fences it; frontend 0 still
    /// reaches S0, 200 ms each way.
    /// </summary>
    [Fact]
    public async Task S8_a_gutter_set_whose_caller_left_during_its_owed_delete_invalidates_the_gutter_entry()
    {
        await using var harness = await IntegrityHarness.StartAsync(FailoverPolicy.Gutter, frontendCount: 2);
        var key = harness.KeyOn(0, "s8-gutter-set");
        harness.Cut(1, 0);
        Assert.True(await IntegrityHarness.WaitUntilAsync(async () => { await harness.ReadAsync(1, key); return harness.Frontends.All(f => f.GetServerState(harness.EndPoint(0)) != ServerState.Up); }, TimeSpan.FromSeconds(10)), "S0 was not marked down by both frontends");

        // The gutter serves the outage once its fence has been held for the bound: frontend 1's set of the older value
        // lands there, and both frontends read it.
        var older = harness.DatabaseVersionAfterWrite(key);
        var servedOlder = await IntegrityHarness.WaitUntilAsync(
            async () =>
            {
                await harness.Frontends[1].SetAsync(key, $"v{older}");
                return await harness.Frontends[1].GetStringAsync(key) == $"v{older}" && await harness.Frontends[0].GetStringAsync(key) == $"v{older}";
            },
            TimeSpan.FromSeconds(10));
        Assert.True(servedOlder, "the gutter never served the outage");

        harness.Slow(0, 0, TimeSpan.FromMilliseconds(200));
        Assert.Equal(0, await StaleReadsBeyondTheBoundAfterACancelledSetAsync(harness, key, $"Gutter, v{older} in the gutter"));
    }

    /// <summary>
    /// A frontend that has just started is still reading the shared view for the first time when its caller sets a key
    /// and gives up. The store waited for that read and was never sent, so the value the key held before the
    /// application changed its source would stay served: the key is invalidated instead, once the read has ended
    /// (with no caller waiting). Not by sending the store late, which could overwrite a newer value. The simulator found
    /// the old value served for a second and more (seeds offline 3004015, replicated 3004112, on the code of
    /// 2026-12-07). Mutant 62. The new frontend's links carry 150 ms each way, so its first read takes a few hundred ms,
    /// and its caller leaves after 50. The invalidation is looked for on the servers themselves: on each, the key is
    /// gone, or the server is fenced (down in frontend 1's view; under Replicated a delete to two replicas on those
    /// links outlasts the quarter of the bound a store whose caller left is given, so the replicas are fenced).
    /// </summary>
    [Theory]
    [InlineData(FailoverPolicy.Offline)]
    [InlineData(FailoverPolicy.Replicated)]
    public async Task S8_a_store_whose_caller_left_during_the_first_view_read_invalidates_the_key(FailoverPolicy policy)
    {
        await using var harness = await IntegrityHarness.StartAsync(policy, frontendCount: 2);
        var key = harness.KeyOn(0, "s8-first-read");
        Assert.Equal(1, await harness.ReadAsync(1, key));
        Assert.NotNull(await harness.DirectGetAsync(0, key));

        var (late, _) = harness.StartLateFrontend(TimeSpan.FromMilliseconds(150), options => options.OperationTimeout = TimeSpan.FromSeconds(2));
        var written = harness.DatabaseVersionAfterWrite(key);
        using var abort = new CancellationTokenSource(50);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await late.SetAsync(key, $"v{written}", cancellationToken: abort.Token));
        Assert.True(late.IsStarting, "the new frontend had read the view before its caller left, so the store was sent: the test did not reach the case");

        var returned = Stopwatch.StartNew();
        var invalidated = await IntegrityHarness.WaitUntilAsync(
            async () =>
            {
                for (var s = 0; s < 3; s++)
                {
                    if (harness.Frontends[1].GetServerState(harness.EndPoint(s)) == ServerState.Up && await harness.DirectGetAsync(s, key) is not null)
                    {
                        return false;
                    }
                }

                return true;
            },
            TimeSpan.FromSeconds(5));
        output.WriteLine($"{policy}: the first view read ended: {!late.IsStarting}; the key gone or its servers fenced {returned.ElapsedMilliseconds} ms after the caller left: {invalidated}; frontend 1 reads v{await harness.ReadAsync(1, key)}");
        output.WriteLine("failures: " + string.Join(" | ", harness.Failures.Select(f => f.ToString())));
        Assert.True(invalidated, "5 s after the caller left, a server that frontend 1 held up still had the key's value from before the set: the set that was never sent invalidated nothing");
    }

    /// <summary>
    /// A new frontend's delete whose caller leaves during its first view read starts at once: from the caller's leaving
    /// the invalidation has a quarter of the bound to land before its server is fenced, and a wait for the view (up to
    /// an operation timeout) would spend it. The simulator found such deletes a second late, one of them kept from
    /// landing by a partition that began meanwhile, and no view there to fence it: the old value was read 1.0-1.7 s
    /// after the caller's return (seed replicated 39010539, a new pool whose first view read took two seconds). The new
    /// frontend's links carry 200 ms each way, so its first view read takes at least 400 ms, and its delete lands about
    /// 200 ms after it is sent; its caller leaves after 20 ms.
    /// </summary>
    [Theory]
    [InlineData(FailoverPolicy.Offline)]
    [InlineData(FailoverPolicy.Gutter)]
    public async Task S8_a_delete_whose_caller_left_during_the_first_view_read_is_sent_at_once(FailoverPolicy policy)
    {
        await using var harness = await IntegrityHarness.StartAsync(policy, frontendCount: 2);
        var key = harness.KeyOn(0, "s8-first-read-delete");
        Assert.Equal(1, await harness.ReadAsync(1, key));
        Assert.NotNull(await harness.DirectGetAsync(0, key));

        var (late, _) = harness.StartLateFrontend(TimeSpan.FromMilliseconds(200), options => options.OperationTimeout = TimeSpan.FromSeconds(3));
        harness.DatabaseVersionAfterWrite(key);
        using var abort = new CancellationTokenSource(20);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await late.DeleteAsync(key, abort.Token));
        var returned = Stopwatch.StartNew();
        Assert.True(late.IsStarting, "the new frontend had read the view before its caller left: the test did not reach the case");

        var gone = await IntegrityHarness.WaitUntilAsync(async () => await harness.DirectGetAsync(0, key) is null, TimeSpan.FromSeconds(3));
        var landedAfter = returned.Elapsed;
        output.WriteLine($"{policy}: the key was gone from its server {landedAfter.TotalMilliseconds:0} ms after the caller left; the first view read still running then: {late.IsStarting}");
        Assert.True(gone, "3 s after the caller left, the key's server still held its old value");
        Assert.True(landedAfter < TimeSpan.FromMilliseconds(350), $"the delete landed {landedAfter.TotalMilliseconds:0} ms after the caller left: it waited for the first view read (at least 400 ms on these links) instead of starting at once");
    }

    /// <summary>
    /// Frontend 0 writes the database and sets the key's new value; its caller gives up after 30 ms. Frontend 1 then
    /// reads the key for 2.5 s: the reads older than the write that began more than the bound after the set returned.
    /// </summary>
    private async Task<int> StaleReadsBeyondTheBoundAfterACancelledSetAsync(IntegrityHarness harness, string key, string label)
    {
        var written = harness.DatabaseVersionAfterWrite(key);
        using var abort = new CancellationTokenSource(30);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await harness.Frontends[0].SetAsync(key, $"v{written}", cancellationToken: abort.Token));
        var returned = Stopwatch.StartNew();
        var (inside, beyond, last) = await harness.CountStaleReadsAsync(1, key, written, returned, Bound, TimeSpan.FromSeconds(2.5));
        output.WriteLine($"{label}: stale inside B: {inside}, beyond: {beyond}, last stale read began {last?.TotalMilliseconds ?? 0:0} ms after A's set returned");
        return beyond;
    }
}
