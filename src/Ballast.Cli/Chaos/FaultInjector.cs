using Ballast.FaultInjection;

namespace Ballast.Cli.Chaos;

/// <summary>Applies a fault schedule to a cluster, on time, lifting each fault at its window's end (also when cancelled).</summary>
public sealed class FaultInjector
{
    private readonly ChaosCluster _cluster;
    private readonly RunClock _clock;
    private readonly HistoryRecorder _history;
    private readonly ChaosOptions _options;
    private readonly LeaseAcrossRestart? _restart;
    private readonly IReadOnlyList<FrontendClock> _frontendClocks;
    private volatile FaultWindow? _active;

    /// <summary>
    /// Creates an injector; <paramref name="restart"/> plays the application's part in <see cref="FaultKind.Restart"/>,
    /// and <paramref name="frontendClocks"/> (each frontend's clock, by index) are what <see cref="FaultKind.Stall"/> holds.
    /// </summary>
    public FaultInjector(ChaosCluster cluster, RunClock clock, HistoryRecorder history, ChaosOptions options, LeaseAcrossRestart? restart = null, IReadOnlyList<FrontendClock>? frontendClocks = null)
    {
        _frontendClocks = frontendClocks ?? [];
        _cluster = cluster;
        _clock = clock;
        _history = history;
        _options = options;
        _restart = restart;
    }

    /// <summary>The fault in force now, if any.</summary>
    public FaultWindow? Active => _active;

    /// <summary>Runs the schedule to its end.</summary>
    public async Task RunAsync(FaultSchedule schedule, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        foreach (var window in schedule.Windows)
        {
            if (!await WaitUntilAsync(window.Start, ct).ConfigureAwait(false))
            {
                return;
            }

            var started = _clock.NowMs;
            _active = window;
            try
            {
                await ApplyAsync(window, ct).ConfigureAwait(false);
            }
            finally
            {
                // Lifting must happen even when the run is cancelled: a paused server or a blackholed proxy must not outlive it.
                await LiftAsync(window, ct).ConfigureAwait(false);
                _active = null;
                _history.Add(new FaultEvent(window, started, _clock.NowMs));
            }
        }
    }

    private async Task ApplyAsync(FaultWindow w, CancellationToken ct)
    {
        var server = _cluster.Servers[w.Server];
        switch (w.Kind)
        {
            case FaultKind.Kill:
                server.Kill();
                break;
            case FaultKind.Pause:
                server.Pause();
                break;
            case FaultKind.Blackhole:
                foreach (var links in _cluster.Links)
                {
                    links[w.Server].SetMode(ProxyFaultMode.Blackhole);
                }

                break;
            case FaultKind.Partition:
                _cluster.Links[w.Frontend ?? 0][w.Server].SetMode(ProxyFaultMode.Blackhole);
                break;
            case FaultKind.Slow:
                _cluster.Links[w.Frontend ?? 0][w.Server].SetMode(ProxyFaultMode.Latency, (_options.EffectiveOperationTimeout * 2) + TimeSpan.FromMilliseconds(100));
                break;
            case FaultKind.Lag:
                foreach (var link in LaggedLinks(w))
                {
                    link.SetMode(ProxyFaultMode.Latency, _options.LagLatency);
                }

                break;
            case FaultKind.Blip:
                foreach (var link in LinksOf(w.Frontend ?? 0))
                {
                    link.SetMode(ProxyFaultMode.Blackhole);
                }

                break;
            case FaultKind.Stall:
                ClockOf(w).Stall();
                break;
            case FaultKind.Restart:
                if (_restart is not null)
                {
                    await _restart.TakeLeaseAsync(w, ct).ConfigureAwait(false);
                }

                server.Kill();
                if (_restart is not null)
                {
                    await _restart.WriteAsync(w, ct).ConfigureAwait(false);
                }

                break;
            case FaultKind.Flap:
                var length = w.End - _clock.Elapsed;
                if (length > TimeSpan.Zero)
                {
                    await Task.WhenAll(_cluster.Links.Select(l => l[w.Server].FlapAsync(_options.FlapPeriod, length, ProxyFaultMode.Blackhole, ct))).ConfigureAwait(false);
                }

                return;
            default:
                throw new ArgumentOutOfRangeException(nameof(w), w.Kind, "Unknown fault.");
        }

        await WaitUntilAsync(w.End, ct).ConfigureAwait(false);
    }

    private async Task LiftAsync(FaultWindow w, CancellationToken ct)
    {
        var server = _cluster.Servers[w.Server];
        switch (w.Kind)
        {
            case FaultKind.Kill:
            case FaultKind.Restart:
                // A fresh, empty process on the same port; bounded so a stuck restart cannot hold the run.
                using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
                {
                    await server.RestartAsync(cts.Token).ConfigureAwait(false);
                }

                if (w.Kind == FaultKind.Restart && _restart is not null && !ct.IsCancellationRequested)
                {
                    // Bounded by the scenario itself (a readmission wait, a count of read rounds).
                    await _restart.FinishAsync(w, ct).ConfigureAwait(false);
                }

                break;
            case FaultKind.Pause:
                server.Resume();
                break;
            case FaultKind.Blackhole:
            case FaultKind.Flap:
                foreach (var links in _cluster.Links)
                {
                    links[w.Server].SetMode(ProxyFaultMode.Pass);
                }

                break;
            case FaultKind.Partition:
            case FaultKind.Slow:
                _cluster.Links[w.Frontend ?? 0][w.Server].SetMode(ProxyFaultMode.Pass);
                break;
            case FaultKind.Lag:
                foreach (var link in LaggedLinks(w))
                {
                    link.SetMode(ProxyFaultMode.Pass);
                }

                break;
            case FaultKind.Blip:
                foreach (var link in LinksOf(w.Frontend ?? 0))
                {
                    link.SetMode(ProxyFaultMode.Pass);
                }

                break;
            case FaultKind.Stall:
                ClockOf(w).Resume();
                break;
        }
    }

    /// <summary>The clock of the stall's frontend.</summary>
    private FrontendClock ClockOf(FaultWindow w)
        => w.Frontend is { } f && f < _frontendClocks.Count
            ? _frontendClocks[f]
            : throw new InvalidOperationException($"A stall of frontend {w.Frontend} needs that frontend's clock; the injector was given {_frontendClocks.Count}.");

    /// <summary>The lag fault's links: its frontend's links to every main server but the window's.</summary>
    private IEnumerable<FaultProxy> LaggedLinks(FaultWindow w)
        => _cluster.Links[w.Frontend ?? 0].Where((_, s) => s != w.Server);

    /// <summary>Every link of one frontend: to each main server and to the gutter server.</summary>
    private IEnumerable<FaultProxy> LinksOf(int frontend)
        => _cluster.GutterLinks is { } gutter ? _cluster.Links[frontend].Append(gutter[frontend]) : _cluster.Links[frontend];

    /// <summary>Waits until the run's clock reaches <paramref name="at"/>; false when cancelled.</summary>
    private async Task<bool> WaitUntilAsync(TimeSpan at, CancellationToken ct)
    {
        var wait = at - _clock.Elapsed;
        if (wait <= TimeSpan.Zero)
        {
            return !ct.IsCancellationRequested;
        }

        try
        {
            await Task.Delay(wait, ct).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
