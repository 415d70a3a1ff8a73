using System.Threading.Tasks.Sources;

namespace Ballast.Protocol.Commands;

/// <summary>
/// A command whose caller awaits a <typeparamref name="T"/>. The command object is itself the awaited
/// <see cref="IValueTaskSource{T}"/>, so a request costs one allocation.
/// </summary>
internal abstract class MetaCommand<T> : MetaCommand, IValueTaskSource<T>
{
    // Continuations run on the thread pool: the connection's read loop must never run user code inline, or one slow
    // caller would stall every response behind it. (Inline only on a simulation thread: see RunContinuationsAsynchronously.)
    private ManualResetValueTaskSourceCore<T> _core = new() { RunContinuationsAsynchronously = true };
    private int _done;
    private bool _answered;
    private bool _claimed;
    private Exception? _claimedError;
    private CancellationTokenRegistration _cancellation;
    private CancellationTokenSource? _cancelWhenFailed;

    /// <summary>The result, filled in by <see cref="MetaCommand.OnResponse"/>.</summary>
    protected T Result { get; set; } = default!;

    public ValueTask<T> AsValueTask() => new(this, _core.Version);

    /// <summary>
    /// Set by the connection as it queues the command, from its scheduler: true in production (the default); false on a
    /// simulation thread, where the awaiter resumes inline and the run stays on that one thread.
    /// </summary>
    public override bool RunContinuationsAsynchronously
    {
        set => _core.RunContinuationsAsynchronously = value;
    }

    /// <summary>
    /// Lets the caller stop waiting. The request may already be on the wire, so the command stays in the connection's
    /// queue and still consumes its response; only the caller's await ends.
    /// </summary>
    public void RegisterCancellation(CancellationToken cancellationToken)
    {
        if (cancellationToken.CanBeCanceled)
        {
            _cancellation = cancellationToken.UnsafeRegister(
                static (state, token) => ((MetaCommand<T>)state!).Fail(new OperationCanceledException(token)),
                this);
        }
    }

    public override void Complete(bool reusable)
    {
        if (_claimed || Interlocked.Exchange(ref _done, 1) == 0)
        {
            _claimed = false;
            _answered = reusable;
            _cancellation.Dispose();
            if (_claimedError is { } error)
            {
                _core.SetException(error);
            }
            else
            {
                _core.SetResult(Result);
            }
        }
    }

    /// <summary>
    /// Called by the read loop before it writes into memory the caller owns (a caller's buffer): from here on, the
    /// caller's await can only end with this response, so a cancellation or a connection fault arriving meanwhile
    /// cannot hand the buffer back to the caller while it is still being written. False when the command was already
    /// failed or cancelled: the caller may be using its buffer again, and nothing may be written into it.
    /// </summary>
    protected bool TryClaimCompletion()
    {
        if (Interlocked.CompareExchange(ref _done, 1, 0) != 0)
        {
            return false;
        }

        _claimed = true;
        return true;
    }

    /// <summary>After <see cref="TryClaimCompletion"/>: the caller gets <paramref name="error"/> instead of the result.</summary>
    protected void FailClaimed(Exception error) => _claimedError = error;

    public override void OnResponseFailed(Exception error)
    {
        if (_claimed)
        {
            _claimedError ??= error;
            Complete(reusable: false);
        }
    }

    /// <summary>
    /// Cancels <paramref name="source"/> when the command is failed, at once if it already was; null stops watching.
    /// What holds the command back before it is sent (a connect) waits on the token, so a command failed meanwhile (the
    /// grace of a caller who left ran out) stops the wait instead of being sent after it.
    /// </summary>
    public void CancelWhenFailed(CancellationTokenSource? source)
    {
        Interlocked.Exchange(ref _cancelWhenFailed, source);
        if (source is not null && Volatile.Read(ref _done) != 0)
        {
            CancelQuietly(source);
        }
    }

    public override void Fail(Exception error)
    {
        if (Interlocked.Exchange(ref _done, 1) == 0)
        {
            _cancellation.Dispose();
            if (TryResultOnFailure(error, out var result))
            {
                _core.SetResult(result);
            }
            else
            {
                _core.SetException(error);
            }

            // After the outcome is set: the wait this stops may resume inline and await the command at once.
            if (Interlocked.Exchange(ref _cancelWhenFailed, null) is { } waiting)
            {
                CancelQuietly(waiting);
            }
        }
    }

    private static void CancelQuietly(CancellationTokenSource source)
    {
        try
        {
            source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The wait it was for is over: nothing to stop.
        }
    }

    /// <summary>
    /// Lets a command answer its caller with a result instead of <paramref name="error"/> (a read that presents a
    /// server failure as a miss), so the caller needs no async wrapper of its own to catch it.
    /// </summary>
    protected virtual bool TryResultOnFailure(Exception error, out T result)
    {
        result = default!;
        return false;
    }

    /// <summary>
    /// Called once the caller has taken the result. <paramref name="reusable"/> is true only when nothing else can
    /// still touch the command: the read loop completed it with its response, after taking it off the connection's
    /// queue, and disposed its cancellation registration (which waits for a running callback). A command that was
    /// failed or cancelled instead may still sit in a queue, and is never reused.
    /// </summary>
    protected virtual void OnResultConsumed(bool reusable)
    {
    }

    /// <summary>Makes the command new again for a pool: the awaitable's version moves on, so a stale await fails.</summary>
    protected void ResetForReuse()
    {
        _core.Reset();
        _done = 0;
        _answered = false;
        _claimed = false;
        _claimedError = null;
        _cancellation = default;
        Result = default!;
        Opaque = 0;
        WrittenTimestamp = 0;
    }

    T IValueTaskSource<T>.GetResult(short token)
    {
        var result = _core.GetResult(token);
        OnResultConsumed(_answered);
        return result;
    }

    ValueTaskSourceStatus IValueTaskSource<T>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<T>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _core.OnCompleted(continuation, state, token, flags);
}
