namespace Ballast.Simulation;

/// <summary>
/// Runs worlds on threads made for them: a large stack (continuations run inline, and the runtime inlines only while
/// the stack has room), no synchronization context and the default task scheduler, so that an awaited result resumes
/// its awaiter on the completing thread, which is the world's own.
/// </summary>
internal static class ScheduleRunner
{
    /// <summary>256 MiB of stack: deep inline continuation chains never fall back to the thread pool.</summary>
    public const int StackSize = 256 * 1024 * 1024;

    /// <summary>Runs one plan on a thread of its own and returns its result.</summary>
    public static ScheduleResult Run(SchedulePlan plan, SimulationOptions options) => OnSimulationThread(() => new World(plan, options).Run());

    /// <summary>Runs <paramref name="work"/> on a new simulation thread and waits for it.</summary>
    public static T OnSimulationThread<T>(Func<T> work)
    {
        T result = default!;
        Exception? failure = null;
        var thread = StartThread(() =>
        {
            try
            {
                result = work();
            }
#pragma warning disable CA1031 // Rethrown on the caller's thread below.
            catch (Exception error)
#pragma warning restore CA1031
            {
                failure = error;
            }
        });
        thread.Join();
        if (failure is not null)
        {
            throw new InvalidOperationException($"A simulated world failed: {failure.Message}", failure);
        }

        return result;
    }

    /// <summary>Starts <paramref name="body"/> on a simulation thread (no execution context flows into it).</summary>
    public static Thread StartThread(Action body)
    {
        var thread = new Thread(() => body(), StackSize) { IsBackground = true, Name = "ballast-sim" };
        using (ExecutionContext.SuppressFlow())
        {
            thread.Start();
        }

        return thread;
    }
}
