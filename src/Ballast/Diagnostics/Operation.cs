using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Ballast.Diagnostics;

/// <summary>
/// One client operation being measured: its start time, its span and its tags. The default value measures nothing
/// and <see cref="Track{T}(ValueTask{T}, Func{T, bool}?)"/> then hands the operation's task back untouched, so an
/// operation nobody observes costs one check of <see cref="Instruments.IsOperationObserved"/>.
/// </summary>
internal readonly struct Operation
{
    private readonly long _start;
    private readonly Activity? _activity;
    private readonly string _name;
    private readonly ServerEndPoint? _server;

    private Operation(string name, ServerEndPoint? server, long start, Activity? activity)
    {
        _name = name;
        _server = server;
        _start = start;
        _activity = activity;
    }

    /// <summary>Starts measuring <paramref name="name"/> (semconv's <c>db.operation.name</c>) against <paramref name="server"/>.</summary>
    public static Operation Start(string name, ServerEndPoint? server)
    {
        Activity? activity = null;
        if (Instruments.Source.HasListeners())
        {
            // StartActivity makes the span current in the caller's async context; most operations start in a method
            // that is not async, so the caller would keep it as its current span after the call: put the caller's back.
            var callers = Activity.Current;
            activity = Instruments.Source.StartActivity(name, ActivityKind.Client);
            Activity.Current = callers;
        }

        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("db.system.name", BallastTelemetry.DbSystemName);
            activity.SetTag("db.operation.name", name);
            if (server is not null)
            {
                activity.SetTag("server.address", server.Host);
                activity.SetTag("server.port", server.Port);
            }
        }

        return new Operation(name, server, Stopwatch.GetTimestamp(), activity);
    }

    /// <summary>The operation's span, when someone samples it (for an async caller to make it the parent of inner spans).</summary>
    public Activity? Span => _activity;

    /// <summary>
    /// Records the operation when <paramref name="task"/> ends: its duration, a hit or miss when
    /// <paramref name="isHit"/> classifies reads, and its span's outcome. Returns the task itself when not measuring.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ValueTask<T> Track<T>(ValueTask<T> task, Func<T, bool>? isHit = null)
    {
        if (_start == 0)
        {
            return task;
        }

        if (task.IsCompletedSuccessfully)
        {
            var result = task.Result;
            Complete(result, isHit, null);
            return new ValueTask<T>(result);
        }

        return Awaited(task, isHit);
    }

    private async ValueTask<T> Awaited<T>(ValueTask<T> task, Func<T, bool>? isHit)
    {
        try
        {
            var result = await task.ConfigureAwait(false);
            Complete(result, isHit, null);
            return result;
        }
        catch (Exception error)
        {
            Complete<T>(default!, null, error);
            throw;
        }
    }

    private void Complete<T>(T result, Func<T, bool>? isHit, Exception? error)
    {
        var tags = new TagList
        {
            { "db.system.name", BallastTelemetry.DbSystemName },
            { "db.operation.name", _name },
        };
        if (_server is not null)
        {
            tags.Add("server.address", _server.Host);
            tags.Add("server.port", _server.Port);
        }

        if (error is not null)
        {
            var type = error is OperationCanceledException ? "cancelled" : error.GetType().FullName;
            tags.Add("error.type", type);
            if (_activity is not null)
            {
                _activity.SetTag("error.type", type);
                _activity.SetStatus(ActivityStatusCode.Error, error.Message);
            }
        }
        else if (isHit is not null)
        {
            var hit = isHit(result);
            (hit ? Instruments.Hits : Instruments.Misses).Add(1, tags);
            _activity?.SetTag("ballast.hit", hit);
        }

        Instruments.OperationDuration.Record(Stopwatch.GetElapsedTime(_start).TotalSeconds, tags);
        _activity?.Dispose();
    }
}
