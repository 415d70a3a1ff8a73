using Ballast.Pool;
using Ballast.Protocol;
using Ballast.Protocol.Commands;

namespace Ballast.Failover;

/// <summary>
/// A get whose result is what a caller may see: lease placeholders and stale items are misses, a won lease becomes a
/// <see cref="RefillLease"/> (<see cref="FailoverStrategy.Present"/>), and a failure of the server is a miss. Doing
/// this in the command lets a strategy return the command's own <see cref="ValueTask{TResult}"/>, with no async
/// wrapper (and its allocation) per read.
/// </summary>
internal sealed class PresentedGetCommand : GetCommand
{
    private readonly ServerNode _node;

    public PresentedGetCommand(CacheKey key, ServerNode node, long vivifySeconds)
        : base(key, vivifySeconds: vivifySeconds)
    {
        _node = node;
    }

    protected override GetResult Interpret(in MetaResponse response)
        => FailoverStrategy.Present(CacheKey, _node, base.Interpret(response));

    // As ReadOrMissAsync does: a server failure (its detector has counted it) is a miss; cancellation still throws.
    protected override bool TryResultOnFailure(Exception error, out GetResult result)
    {
        result = GetResult.Miss;
        return error is MemcachedException;
    }
}
