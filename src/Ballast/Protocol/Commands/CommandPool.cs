using System.Collections.Concurrent;

namespace Ballast.Protocol.Commands;

/// <summary>
/// A bounded pool of reusable commands of one type, so the hot read paths allocate nothing per request. A command goes
/// back only when nothing else can still touch it (see <see cref="MetaCommand{T}"/>'s <c>OnResultConsumed</c>).
/// </summary>
internal static class CommandPool<TCommand>
    where TCommand : class
{
    // Enough for thousands of concurrent reads; beyond it, commands are left to the garbage collector.
    private const int MaxPooled = 1024;
    private static readonly ConcurrentQueue<TCommand> Pool = new();
    private static int _pooled;

    /// <summary>A pooled command, or null when the pool is empty.</summary>
    public static TCommand? TryRent()
    {
        if (!Pool.TryDequeue(out var command))
        {
            return null;
        }

        Interlocked.Decrement(ref _pooled);
        return command;
    }

    /// <summary>Gives a command back; it is dropped when the pool is full.</summary>
    public static void Return(TCommand command)
    {
        if (Interlocked.Increment(ref _pooled) > MaxPooled)
        {
            Interlocked.Decrement(ref _pooled);
            return;
        }

        Pool.Enqueue(command);
    }
}
