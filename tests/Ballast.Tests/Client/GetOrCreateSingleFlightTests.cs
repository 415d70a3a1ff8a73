using Ballast.Tests.Support;

namespace Ballast.Tests.Client;

/// <summary>
/// GetOrCreate's in-process single flight, alone: the refill lease already keeps other processes from calling the
/// factory, so only callers whose lease wait runs out show whether this process's callers share one run. The holder's
/// factory outlasts the wait; the others give up on it together and call the factory once between them.
/// </summary>
[Collection(Extensions.ApplicationCollection.Name)]
public sealed class GetOrCreateSingleFlightTests
{
    [Fact]
    public async Task Callers_that_give_up_waiting_for_another_frontends_lease_share_one_factory_call()
    {
        await using var servers = await MemcachedServers.StartAsync(1);
        await using var holder = new MemcachedClient(servers.Options());
        await using var waiter = new MemcachedClient(servers.Options(o => o.GetOrCreate.LeaseWait = TimeSpan.FromMilliseconds(500)));
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var leaseTaken = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var holderCall = holder.GetOrCreateAsync("slow", async ct =>
        {
            leaseTaken.TrySetResult();
            await release.Task.WaitAsync(ct);
            return "from the holder";
        }).AsTask();
        await leaseTaken.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var calls = 0;
        async ValueTask<string> Factory(CancellationToken ct)
        {
            Interlocked.Increment(ref calls);
            await Task.Delay(200, ct);
            return "from a waiter";
        }

        var waiters = Enumerable.Range(0, 20).Select(_ => waiter.GetOrCreateAsync("slow", Factory).AsTask()).ToArray();
        var values = await Task.WhenAll(waiters).WaitAsync(TimeSpan.FromSeconds(20));
        release.SetResult();
        await holderCall;

        Assert.All(values, v => Assert.Equal("from a waiter", v));
        Assert.Equal(1, calls);
    }
}
