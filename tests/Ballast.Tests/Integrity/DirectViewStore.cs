using Ballast.Pool;
using Ballast.SharedView;
using Ballast.Tests.SharedView;

namespace Ballast.Tests.Integrity;

/// <summary>
/// The pool's view kept on its own memcached servers, as the client keeps it, but registered as a store
/// (<see cref="SharedViewOptions.UseStore"/>) and reached over connections of its own, not through the frontend's
/// proxies: cutting a frontend's link cuts its data path only, and a test can wrap the store to change one kind of
/// answer.
/// </summary>
internal static class DirectViewStore
{
    /// <summary>The connections' options: generous, so that a loaded machine's first connects do not fail the view.</summary>
    public static MemcachedClientOptions ConnectionOptions { get; } = new() { OperationTimeout = TimeSpan.FromSeconds(1), ConnectTimeout = TimeSpan.FromSeconds(3) };

    /// <summary>Registers the store on <paramref name="options"/> (its servers already added), wrapped by <paramref name="wrap"/>.</summary>
    public static void Use(MemcachedClientOptions options, Func<Parts, ISharedViewStore> wrap)
    {
        var endPoints = options.Servers.ToArray();
        options.SharedView.UseStore(context =>
        {
            var nodes = Nodes(endPoints, context.TimeProvider);
            return wrap(new Parts(new OwningNodes(new MemcachedViewStore(nodes, endPoints, context.PoolName, context.TimeProvider), nodes), endPoints, context.PoolName));
        });
    }

    /// <summary>A node per server, over connections of their own (dispose them).</summary>
    public static ServerNode[] Nodes(ServerEndPoint[] endPoints, TimeProvider time)
        => [.. endPoints.Select((e, i) => new ServerNode(i, e, ConnectionOptions, time, (_, _, _) => { }))];

    /// <summary>What the store is made of: the memcached store (disposing it disposes its connections), the servers and the pool's name.</summary>
    public sealed record Parts(ISharedViewStore Store, ServerEndPoint[] EndPoints, string PoolName);

    /// <summary>The memcached store, and the nodes it reaches the servers through, disposed after it.</summary>
    private sealed class OwningNodes(ISharedViewStore inner, ServerNode[] nodes) : ForwardingViewStore(inner)
    {
        public override async ValueTask DisposeAsync()
        {
            await Inner.DisposeAsync();
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }
}
