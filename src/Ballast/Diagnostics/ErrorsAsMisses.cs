using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Ballast.Diagnostics;

/// <summary>
/// The one way an error of a server becomes a miss, <c>false</c> or <c>null</c> (the promise turns failures into misses,
/// but never silently): every such place calls <see cref="Absorbed"/>, which counts it
/// (<c>ballast.client.errors_absorbed</c>, by server and <see cref="AbsorbedError"/>) and logs it (event 19), at most
/// once per <see cref="LogInterval"/> for each kind, with the number absorbed since the last line. One per server.
/// </summary>
internal sealed class ErrorsAsMisses
{
    /// <summary>The least time between two log lines for one kind of absorbed error of one server.</summary>
    public static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);

    private static readonly int KindCount = Enum.GetValues<AbsorbedError>().Length;

    private readonly ServerEndPoint _server;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly long[] _lastLogged;
    private readonly int[] _sinceLogged;

    public ErrorsAsMisses(ServerEndPoint server, ILogger logger, TimeProvider time)
    {
        _server = server;
        _logger = logger;
        _time = time;
        _lastLogged = new long[KindCount];
        _sinceLogged = new int[KindCount];
    }

    /// <summary>Records that <paramref name="error"/> was turned into <paramref name="kind"/>.</summary>
    /// <param name="kind">What it became.</param>
    /// <param name="key">The key concerned, if one.</param>
    /// <param name="error">The error.</param>
    public void Absorbed(AbsorbedError kind, string? key, Exception error)
    {
        if (Instruments.ErrorsAbsorbed.Enabled)
        {
            var tags = Instruments.ServerTags(_server);
            tags.Add("ballast.absorbed_as", kind.ToString());
            tags.Add("error.type", error.GetType().Name);
            Instruments.ErrorsAbsorbed.Add(1, tags);
        }

        var slot = (int)kind;
        var suppressed = Interlocked.Increment(ref _sinceLogged[slot]);
        if (!_logger.IsEnabled(LogLevel.Warning))
        {
            return;
        }

        var now = _time.GetTimestamp();
        var last = Volatile.Read(ref _lastLogged[slot]);
        if (last != 0 && _time.GetElapsedTime(last, now) < LogInterval)
        {
            return;
        }

        if (Interlocked.CompareExchange(ref _lastLogged[slot], now, last) != last)
        {
            return;
        }

        suppressed = Interlocked.Exchange(ref _sinceLogged[slot], 0);
        _logger.ErrorAbsorbed(error, _server, kind, key, suppressed);
    }

    /// <summary>How many of <paramref name="kind"/> were absorbed since the last log line of that kind (for tests).</summary>
    [DebuggerStepThrough]
    internal int PendingCount(AbsorbedError kind) => Volatile.Read(ref _sinceLogged[(int)kind]);
}
