using Ballast.Tests.Support;

namespace Ballast.Tests.Security;

/// <summary>
/// What a hostile or broken server can make the client spend. The figures are the done-when limits; the
/// "before" figures of docs/security.md came from these same tests on the code before the bounds.
/// </summary>
[Collection(nameof(AllocationMeasuringCollection))]
public sealed class HostileServerResourceTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_two_gigabyte_value_header_is_refused_before_anything_is_allocated()
    {
        await using var server = MisbehavingServer.FirstThenEcho(request =>
            new MisbehavingServer.Reply($"VA 2000000000 f0 c1 O{request.Opaque}\r\n"));
        await using var client = new MemcachedClient(server.ClientOptions(TimeSpan.FromSeconds(5)));

        var before = GC.GetTotalAllocatedBytes(precise: true);
        var error = await Assert.ThrowsAnyAsync<MemcachedException>(async () => await client.GetFromHomeServerAsync("huge"));
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        output.WriteLine($"VA 2000000000: {allocated / 1024.0 / 1024.0:0.0} MB allocated; {error.GetType().Name}: {error.Message}");

        Assert.IsType<MemcachedProtocolException>(error);
        Assert.Contains("2000000000", error.Message, StringComparison.Ordinal);
        Assert.Contains(server.EndPoint.ToString(), error.Message, StringComparison.Ordinal);
        Assert.True(allocated < 64L * 1024 * 1024, $"{allocated} bytes allocated");
    }

    [Fact]
    public async Task Four_thousand_stores_to_a_server_that_never_reads_fail_each_with_its_own_short_exception()
    {
        await using var server = new SilentServer();
        var options = new MemcachedClientOptions { ConnectionsPerServer = 1, OperationTimeout = TimeSpan.FromMilliseconds(500) };
        options.Servers.Add(server.EndPoint);
        options.SharedView.Enabled = false;
        await using var client = new MemcachedClient(options);
        var value = new byte[16];

        var before = GC.GetTotalAllocatedBytes(precise: true);
        var stores = Enumerable.Range(0, 4000).Select(i => Task.Run(async () => await client.SetAsync($"key-{i}", value))).ToArray();
        var errors = new List<Exception>();
        foreach (var store in stores)
        {
            try
            {
                await store;
            }
            catch (Exception error)
            {
                errors.Add(error);
            }
        }

        // Measured before the checks below, whose ToString calls (stack traces with file and line) allocate too.
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        var longest = errors.Count == 0 ? 0 : errors.Max(e => e.ToString().Length);
        var distinct = errors.Distinct(ReferenceEqualityComparer.Instance).Count();
        output.WriteLine($"4000 stores: {errors.Count} failed, {distinct} distinct exceptions, longest ToString {longest} chars, {allocated / 1024.0 / 1024.0:0.0} MB allocated");

        Assert.Equal(4000, errors.Count);
        Assert.All(errors, e => Assert.IsAssignableFrom<MemcachedException>(e));
        Assert.Equal(4000, distinct);
        Assert.True(longest < 20_000, $"longest exception is {longest} characters");
        Assert.True(allocated < 200L * 1024 * 1024, $"{allocated} bytes allocated");
    }

    [Fact]
    public async Task Requests_past_the_pending_send_cap_fail_at_once_with_a_clear_error()
    {
        // The first send never completes (the server stopped reading); what follows waits in the pending buffer until
        // the cap, and past it each request fails at once, long before any timeout.
        var options = ScriptedConnection.DefaultOptions(TimeSpan.FromSeconds(60));
        options.MaxPendingSendBytes = 64 * 1024;
        var stores = Enumerable.Range(0, 20).Select(i => (Ballast.Protocol.Commands.MetaCommand)ScriptedConnection.Set($"big-{i}", new byte[16 * 1024])).ToList();
        var (connection, outcomes) = ScriptedConnection.Run(stores, [], endWithEof: false, options, stallWrites: true);

        await Task.Delay(200);
        var refused = outcomes.Where(o => o.IsFaulted).Select(o => o.Exception!.InnerException).ToList();
        output.WriteLine($"{refused.Count} of 20 stores of 16 KB refused at once; first: {refused.FirstOrDefault()?.Message}");
        Assert.InRange(refused.Count, 10, 19);
        Assert.All(refused, e => Assert.Contains("MaxPendingSendBytes", Assert.IsType<ServerUnavailableException>(e).Message, StringComparison.Ordinal));
        Assert.Contains(outcomes, o => !o.IsCompleted);
        await connection.DisposeAsync();
    }

    [Fact]
    public async Task The_receive_buffer_shrinks_back_after_a_large_value()
    {
        const int Size = 64 * 1024 * 1024;
        var options = ScriptedConnection.DefaultOptions();
        options.MaxItemSize = 80 * 1024 * 1024;
        var baseline = GC.GetTotalMemory(forceFullCollection: true);
        var header = System.Text.Encoding.ASCII.GetBytes($"VA {Size} f0 c1 O0\r\n");
        var body = new byte[Size + 2];
        body[Size] = (byte)'\r';
        body[Size + 1] = (byte)'\n';
        var get = ScriptedConnection.Get("large");
        var (connection, outcomes) = ScriptedConnection.Run([get], [header, body], endWithEof: false, options);
        Assert.Equal(Size, (await ((Task<GetResult>)outcomes[0]).WaitAsync(TimeSpan.FromSeconds(20))).Value!.Length);
        outcomes = [];
        body = null;
        header = null;

        // The connection stays open (the stream stalls); what it still holds is measured after a full collection.
        await Task.Delay(200);
        var held = GC.GetTotalMemory(forceFullCollection: true) - baseline;
        output.WriteLine($"{held / 1024.0 / 1024.0:0.0} MB more on the heap with the connection open after a {Size / 1024 / 1024} MB value");
        Assert.True(held < 32L * 1024 * 1024, $"{held} bytes still held");
        GC.KeepAlive(connection);
        await connection.DisposeAsync();
    }

    [Fact]
    public void The_send_buffer_gives_back_a_capacity_grown_past_the_retained_size()
    {
        var buffer = new global::Ballast.Protocol.RequestBuffer();
        buffer.Write(new byte[4 * 1024 * 1024]);
        Assert.True(buffer.Capacity >= 4 * 1024 * 1024);
        buffer.Clear();
        Assert.True(buffer.Capacity <= global::Ballast.Protocol.RequestBuffer.RetainedCapacity);

        buffer.Write(new byte[512 * 1024]);
        var grown = buffer.Capacity;
        buffer.Clear();
        Assert.Equal(grown, buffer.Capacity); // a moderate size is kept, so steady traffic does not reallocate
    }
}

/// <summary>Tests that measure the process's allocations run alone, so no other test's allocations are counted.</summary>
[CollectionDefinition(nameof(AllocationMeasuringCollection), DisableParallelization = true)]
public sealed class AllocationMeasuringCollection;
