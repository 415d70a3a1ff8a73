using Ballast.Pool;
using Ballast.Protocol;
using Ballast.Protocol.Commands;

namespace Ballast.Failover;

/// <summary>
/// A get whose result is what a caller may see: lease placeholders and stale items are misses, a won lease becomes a
/// <see cref="RefillLease"/> (<see cref="FailoverStrategy.Present"/>), and a failure of the server is a miss. Doing
/// this in the command lets a strategy return the command's own <see cref="ValueTask{TResult}"/>, with no async
/// wrapper (and its allocation) per read. Commands are pooled: the hot read path allocates only the value it returns.
/// </summary>
internal sealed class PresentedGetCommand : GetCommand
{
    private ServerNode? _node;
    private long _serverEpoch;

    private PresentedGetCommand(CacheKey key)
        : base(key)
    {
    }

    /// <summary>A command for one read, from the pool when one is free.</summary>
    public static PresentedGetCommand Rent(CacheKey key, ServerNode node, long vivifySeconds, long serverEpoch)
    {
        var command = CommandPool<PresentedGetCommand>.TryRent() ?? new PresentedGetCommand(key);
        command.Reinitialize(key, withValue: true, touchSeconds: -1, vivifySeconds);
        command._node = node;
        command._serverEpoch = serverEpoch;
        return command;
    }

    protected override GetResult Interpret(in MetaResponse response)
        => FailoverStrategy.Present(CacheKey, _node!, base.Interpret(response), _serverEpoch);

    // As ReadOrMissAsync does: a server failure (its detector has counted it) is a miss; cancellation still throws.
    protected override bool TryResultOnFailure(Exception error, out GetResult result)
    {
        result = GetResult.Miss;
        if (error is not MemcachedException)
        {
            return false;
        }

        _node!.Errors.Absorbed(Diagnostics.AbsorbedError.ReadMiss, CacheKey.Text, error);
        return true;
    }

    protected override void OnResultConsumed(bool reusable)
    {
        if (!reusable)
        {
            return;
        }

        ResetForReuse();
        _node = null;
        CacheKey = default;
        CommandPool<PresentedGetCommand>.Return(this);
    }
}
