using System.Collections.Concurrent;

namespace Ballast.GetOrCreate;

/// <summary>
/// One run of work per key at a time within a process: concurrent callers of the same key join the run in progress
/// instead of starting their own. The run's token is cancelled only when every caller waiting on it has given up, so
/// one impatient caller never fails the others. A caller is handed a run's value only if the value is at least as
/// recent as the caller (<see cref="FreshValue{T}"/>): a run that read or created its value before the caller began
/// may predate an invalidation that completed before then, and the caller runs again instead.
/// </summary>
internal sealed class SingleFlight
{
    private readonly ConcurrentDictionary<(string Key, Type Type), Flight> _flights = new();

    /// <summary>How often a caller starts again when the run it joined was older than itself (more would be a bug: a run
    /// started after an earlier one ended began after the caller).</summary>
    private const int MaxRuns = 3;

    /// <summary>
    /// Joins the run for <paramref name="key"/> (and result type) or starts one with <paramref name="work"/>, and
    /// returns its value if that value is no older than <paramref name="callerStarted"/>; otherwise runs again. With
    /// <paramref name="mayJoin"/> false the caller's own work runs even when a run is in progress (it holds something
    /// that run lacks, such as a refill lease); later callers join it if it started the run.
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="work">Makes the value; it must begin its reads and calls after it is started.</param>
    /// <param name="callerStarted">When the caller began (a <see cref="TimeProvider"/> timestamp).</param>
    /// <param name="cancellationToken">The caller's token: it leaves the run, which is cancelled when every caller has left.</param>
    /// <param name="mayJoin">False to run the caller's own work.</param>
    public async Task<T> RunAsync<T>(string key, Func<CancellationToken, Task<FreshValue<T>>> work, long callerStarted, CancellationToken cancellationToken, bool mayJoin = true)
    {
        for (var run = 1; ; run++)
        {
            var result = run < MaxRuns
                ? await JoinOrStartAsync(key, work, mayJoin, cancellationToken).ConfigureAwait(false)
                : await work(cancellationToken).ConfigureAwait(false);
            if (result.ValidAsOf >= callerStarted || !mayJoin || run >= MaxRuns)
            {
                return result.Value;
            }
        }
    }

    private async Task<FreshValue<T>> JoinOrStartAsync<T>(string key, Func<CancellationToken, Task<FreshValue<T>>> work, bool mayJoin, CancellationToken cancellationToken)
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
                return (FreshValue<T>)(await Runtime.WorkScheduler.Current.WaitAsync(flight.Result.Task, cancellationToken).ConfigureAwait(false))!;
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

    private async Task RunAndForgetAsync<T>((string, Type) id, Flight flight, Func<CancellationToken, Task<FreshValue<T>>> work)
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
