namespace Ballast.Cli.Monitor;

/// <summary>
/// The cap on event streams open at once (<see cref="MonitorSettings.MaxEventStreams"/>): each holds a connection and
/// its buffers for as long as a page stays open, so a client that opens thousands would otherwise grow the monitor
/// without bound. Past the cap a stream is refused with 503 at once.
/// </summary>
internal sealed class EventStreamSlots(int capacity)
{
    private int _open;

    public int Capacity => capacity;

    /// <summary>How many streams are open now.</summary>
    public int Open => Volatile.Read(ref _open);

    /// <summary>Takes a place; false when all are taken (the caller refuses the stream and releases nothing).</summary>
    public bool TryTake()
    {
        if (Interlocked.Increment(ref _open) <= capacity)
        {
            return true;
        }

        Interlocked.Decrement(ref _open);
        return false;
    }

    /// <summary>Gives back a place taken by <see cref="TryTake"/>.</summary>
    public void Release() => Interlocked.Decrement(ref _open);
}
