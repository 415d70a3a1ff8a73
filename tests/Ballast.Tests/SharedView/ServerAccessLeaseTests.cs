using Ballast.Pool;
using Ballast.SharedView;
using Ballast.Tests.Support;

namespace Ballast.Tests.SharedView;

/// <summary>
/// Reads and stores are gated on two leases of one view: reads on three quarters of the bound (a departed caller's
/// fence may come a quarter of the bound after its return), stores on the whole bound (a store refused sooner is only
/// turned into an invalidation; a one-shot tool whose first view read took most of the shorter lease had its set
/// refused on a loaded machine).
/// </summary>
public sealed class ServerAccessLeaseTests
{
    [Fact]
    public async Task Reads_stop_at_three_quarters_of_the_bound_and_stores_at_the_bound()
    {
        var time = new ManualTimeProvider();
        var server = new ServerEndPoint("127.0.0.1", 11298);
        var options = new MemcachedClientOptions();
        options.Servers.Add(server);
        await using var node = new ServerNode(0, server, options, time, (_, _, _) => { });
        var view = new ClusterView(1, TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(750), time, enabled: true);
        var access = new ServerAccess(view);
        Assert.False(access.IsReadable(node));
        Assert.False(access.IsWritable(node));

        view.Apply(new ViewReadResult([ViewEntry.Initial], Responded: 1, IsQuorum: true), time.GetTimestamp());
        Assert.True(access.IsReadable(node));
        Assert.True(access.IsWritable(node));

        time.Advance(TimeSpan.FromMilliseconds(751));
        Assert.False(access.IsReadable(node));
        Assert.True(access.IsWritable(node));

        time.Advance(TimeSpan.FromMilliseconds(250));
        Assert.False(access.IsReadable(node));
        Assert.False(access.IsWritable(node));

        // A fence in the view bars both, whatever the lease.
        view.Apply(new ViewReadResult([new ViewEntry(2, IsDown: true, 0, "other")], Responded: 1, IsQuorum: true), time.GetTimestamp());
        Assert.False(access.IsReadable(node));
        Assert.False(access.IsWritable(node));
    }
}
