using System.Collections.Concurrent;

namespace Ballast.Protocol.Commands;

/// <summary>
/// A bounded pool of reusable commands of one type, so the hot read paths allocate nothing per request. A command goes
/// back only when nothing else can still touch it (see <see cref="MetaCommand{T}"/>'s <c>OnResultConsumed</c>).
/// </summary>
/// <remarks>
/// Each thread keeps a few commands of its own in front of the shared queue. A read is rented on its caller's thread
/// and given back on the thread its caller resumes on, which under load is a thread that rents the next read at once:
/// the thread's own slots serve it with no interlocked operation, where the shared queue cost two on cache lines that
/// every core writes (measured: the largest share of a get's own CPU at concurrency 256, docs/benchmarks.md).
/// </remarks>
internal static class CommandPool<TCommand>
    where TCommand : class
{
    // Enough for thousands of concurrent reads; beyond it, commands are left to the garbage collector.
    private const int MaxPooled = 1024;

    // Per thread, ahead of the shared queue: a handful covers a thread that finishes a batch of reads before renting.
    private const int ThreadSlots = 8;

    private static readonly ConcurrentQueue<TCommand> Pool = new();
    private static int _pooled;

    [ThreadStatic]
    private static TCommand?[]? _threadSlots;

    [ThreadStatic]
    private static int _threadCount;

    /// <summary>A pooled command, or null when the pool is empty.</summary>
    public static TCommand? TryRent()
    {
        var slots = _threadSlots;
        if (slots is not null && _threadCount > 0)
        {
            var index = --_threadCount;
            var mine = slots[index];
            slots[index] = null;
            return mine;
        }

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
        var slots = _threadSlots ??= new TCommand?[ThreadSlots];
        if (_threadCount < ThreadSlots)
        {
            slots[_threadCount++] = command;
            return;
        }

        if (Interlocked.Increment(ref _pooled) > MaxPooled)
        {
            Interlocked.Decrement(ref _pooled);
            return;
        }

        Pool.Enqueue(command);
    }
}
