using System.Collections.Concurrent;

namespace Ballast.GetOrCreate;

/// <summary>
/// One run of work per key at a time within a process: concurrent callers of the same key join the run in progress
/// instead of starting their own. The run's token is cancelled only when every caller waiting on it has given up, so
/// one impatient caller never fails the others.
/// </summary>
internal sealed class SingleFlight
{
    private readonly ConcurrentDictionary<(string Key, Type Type), Flight> _flights = new();

    /// <summary>
    /// Joins the run for <paramref name="key"/> (and result type) or starts one with <paramref name="work"/>. With
    /// <paramref name="mayJoin"/> false the caller's own work runs even when a run is in progress (it holds something
    /// that run lacks, such as a refill lease), and later callers join it if it started the run.
    /// </summary>
    public async Task<T> RunAsync<T>(string key, Func<CancellationToken, Task<T>> work, CancellationToken cancellationToken, bool mayJoin = true)
    {
        var id = (key, typeof(T));
        Flight flight;
        while (true)
        {
            if (_flights.TryGetValue(id, out var current))
            {
                if (!mayJoin)
                {
                    return await work(cancellationToken).ConfigureAwait(false);
                }

                if (current.TryJoin())
                {
                    flight = current;
                    break;
                }

                // Every caller of that run gave up and its work is being cancelled: start afresh.
                _flights.TryRemove(new KeyValuePair<(string, Type), Flight>(id, current));
                continue;
            }

            var started = new Flight();
            if (_flights.TryAdd(id, started))
            {
                _ = RunAndForgetAsync(id, started, work);
                flight = started;
                break;
            }
        }

        // The caller leaves the run when its token fires, exactly once. Not through the registration alone: the wait
        // below is cancelled by the same token, its continuation may run inside Cancel and dispose the registration
        // before that callback was invoked, and the run (and the refill lease it holds) would go on for a caller that
        // is gone. A cancelled GetOrCreate left its lease held until the placeholder expired that way.
        var waiter = new Waiter(flight);
        using (cancellationToken.Register(static w => ((Waiter)w!).Leave(), waiter))
        {
            try
            {
                return (T)(await Runtime.WorkScheduler.Current.WaitAsync(flight.Result.Task, cancellationToken).ConfigureAwait(false))!;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                waiter.Leave();
                throw;
            }
        }
    }

    /// <summary>One caller's place in a run: it leaves at most once, whoever notices its cancellation first.</summary>
    private sealed class Waiter(Flight flight)
    {
        private int _left;

        public void Leave()
        {
            if (Interlocked.Exchange(ref _left, 1) == 0)
            {
                flight.Leave();
            }
        }
    }

    private async Task RunAndForgetAsync<T>((string, Type) id, Flight flight, Func<CancellationToken, Task<T>> work)
    {
        try
        {
            // Off the first caller's stack: its cancellation must not unwind the run the others share.
            await Runtime.WorkScheduler.Current.Yield();
            flight.Result.TrySetResult(await work(flight.Cancellation.Token).ConfigureAwait(false));
        }
        catch (OperationCanceledException cancelled)
        {
            flight.Result.TrySetCanceled(cancelled.CancellationToken);
        }
        catch (Exception error)
        {
            // Observed by every waiter (it is their result); nothing is dropped.
            flight.Result.TrySetException(error);
        }
        finally
        {
            _flights.TryRemove(new KeyValuePair<(string, Type), Flight>(id, flight));
            flight.Cancellation.Dispose();
        }
    }

    private sealed class Flight
    {
        private readonly Lock _lock = new();
        private int _waiters = 1;
        private bool _abandoned;

        public CancellationTokenSource Cancellation { get; } = new();

        public TaskCompletionSource<object?> Result { get; } = new(Runtime.WorkScheduler.Current.CompletionOptions);

        public bool TryJoin()
        {
            lock (_lock)
            {
                if (_abandoned)
                {
                    return false;
                }

                _waiters++;
                return true;
            }
        }

        /// <summary>A waiter was cancelled: the last one to leave cancels the work.</summary>
        public void Leave()
        {
            lock (_lock)
            {
                if (--_waiters > 0 || _abandoned)
                {
                    return;
                }

                _abandoned = true;
            }

            try
            {
                Cancellation.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The work already ended.
            }
        }
    }
}
