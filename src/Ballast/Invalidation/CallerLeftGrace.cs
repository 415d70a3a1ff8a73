using Ballast.Protocol.Commands;

namespace Ballast.Invalidation;

/// <summary>
/// How long work that outlives its caller (a store, an invalidation) still waits for its server's answer once the
/// caller has left: a grace period (a quarter of the bound) from the moment the caller's token fires, then the wait fails with
/// <see cref="MemcachedTimeoutException"/> (the request stays in its connection's queue and still consumes its answer,
/// which then changes nothing). Disposing the watch once the answer is in ends it.
/// </summary>
/// <remarks>
/// This replaces a task conversion and a <see cref="Task{TResult}.WaitAsync(CancellationToken)"/> per request on the
/// hot path of every write made with a token that can fire (an HTTP request's, say): the command is awaited directly,
/// and only a caller who really leaves costs a timer.
/// </remarks>
internal sealed class CallerLeftGrace<T> : IDisposable
{
    private readonly MetaCommand<T> _command;
    private readonly ServerEndPoint _server;
    private readonly TimeSpan _grace;
    private readonly TimeProvider _time;
    private CancellationTokenRegistration _registration;
    private ITimer? _timer;
    private volatile bool _disposed;

    private CallerLeftGrace(MetaCommand<T> command, ServerEndPoint server, TimeSpan grace, TimeProvider time)
    {
        _command = command;
        _server = server;
        _grace = grace;
        _time = time;
    }

    /// <summary>Watches <paramref name="callerLeft"/> for <paramref name="command"/>; null when the token cannot fire.</summary>
    /// <param name="command">The request, sent or about to be.</param>
    /// <param name="server">Its server, for the message.</param>
    /// <param name="callerLeft">The caller's token.</param>
    /// <param name="grace">How long the answer is still waited for after the caller left (a quarter of the bound).</param>
    /// <param name="time">The clock.</param>
    public static CallerLeftGrace<T>? Watch(MetaCommand<T> command, ServerEndPoint server, CancellationToken callerLeft, TimeSpan grace, TimeProvider time)
    {
        if (!callerLeft.CanBeCanceled)
        {
            return null;
        }

        var watch = new CallerLeftGrace<T>(command, server, grace, time);

        // Runs at once, on this thread, when the caller has already left.
        watch._registration = callerLeft.UnsafeRegister(static state => ((CallerLeftGrace<T>)state!).StartGrace(), watch);
        return watch;
    }

    public void Dispose()
    {
        // Waits for a StartGrace running on another thread, so the timer, if any, is set by the time it is read here.
        _registration.Dispose();
        _disposed = true;
        _timer?.Dispose();
    }

    private void StartGrace()
        => _timer = _time.CreateTimer(static state => ((CallerLeftGrace<T>)state!).Expire(), this, _grace, Timeout.InfiniteTimeSpan);

    private void Expire()
    {
        if (_disposed)
        {
            return;
        }

        // A no-op when the answer came first (a command completes once); the commands watched are never pooled, so
        // this cannot reach a later request that reuses the object.
        _command.Fail(new MemcachedTimeoutException(
            $"Server {_server} did not answer for key '{_command.Key}' within {_grace.TotalMilliseconds:0} ms after the caller cancelled; the invalidation no longer waits for it.",
            _server));
    }
}
