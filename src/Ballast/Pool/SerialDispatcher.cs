using System.Collections.Concurrent;

namespace Ballast.Pool;

/// <summary>
/// Runs callbacks (the client's events) one at a time, in the order they were posted, on a thread-pool worker: never
/// inline on the thread that posts them, which may be a caller's or may hold a lock, and never two at once, so a
/// subscriber sees a server's failure before its recovery.
/// </summary>
internal sealed class SerialDispatcher
{
    private readonly ConcurrentQueue<Action> _queue = new();
    private readonly Action<Exception> _onFailure;
    private int _draining;

    /// <param name="onFailure">Told of a callback that threw; the others still run.</param>
    public SerialDispatcher(Action<Exception> onFailure) => _onFailure = onFailure;

    public void Post(Action callback)
    {
        _queue.Enqueue(callback);
        if (Interlocked.CompareExchange(ref _draining, 1, 0) == 0)
        {
            Runtime.WorkScheduler.Current.Post(static self => self.Drain(), this);
        }
    }

    private void Drain()
    {
        while (true)
        {
            while (_queue.TryDequeue(out var callback))
            {
                try
                {
                    callback();
                }
                catch (Exception error)
                {
                    _onFailure(error);
                }
            }

            Volatile.Write(ref _draining, 0);

            // A callback posted after the queue looked empty but before the flag was cleared would wait forever.
            if (_queue.IsEmpty || Interlocked.CompareExchange(ref _draining, 1, 0) != 0)
            {
                return;
            }
        }
    }
}
