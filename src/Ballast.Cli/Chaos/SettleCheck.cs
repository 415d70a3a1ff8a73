using System.Diagnostics;
using System.Globalization;

namespace Ballast.Cli.Chaos;

/// <summary>Whether a pool settled after its run, and how long it took.</summary>
/// <param name="Settled">Every .NET frontend had every main server up and served a key of each within the timeout.</param>
/// <param name="AfterMs">How long after the run's end it settled (the timeout, when it did not).</param>
/// <param name="Unsettled">What was still wrong at the end, when it did not settle: e.g. "frontend 0: server 1 Recovering".</param>
public sealed record SettleResult(bool Settled, double AfterMs, string? Unsettled);

/// <summary>
/// The end of a run: every fault is lifted, so the pool must settle: every frontend has every main server up and
/// serves a key of each (a set, then a hit on the same frontend, with a value of this attempt). Checked every 100 ms
/// up to a timeout. A pool that alternates between outages of its servers (flushing, readmitting, flushing again)
/// never gets there.
/// </summary>
public static class SettleCheck
{
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(100);

    /// <summary>Waits up to <paramref name="timeout"/> for the pool of <paramref name="clients"/> to settle.</summary>
    public static async Task<SettleResult> WaitAsync(IReadOnlyList<MemcachedClient> clients, IReadOnlyList<ServerEndPoint> servers, TimeSpan timeout, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(clients);
        ArgumentNullException.ThrowIfNull(servers);
        var probes = servers.Select((server, s) => Enumerable.Range(0, 100_000)
            .Select(i => string.Create(CultureInfo.InvariantCulture, $"chaos:settle:{s}:{i}"))
            .First(name => clients[0].Locate(name) == server)).ToArray();
        var clock = Stopwatch.StartNew();
        string? wrong = null;
        for (var attempt = 0; ; attempt++)
        {
            wrong = await WhatIsWrongAsync(clients, servers, probes, attempt, ct).ConfigureAwait(false);
            if (wrong is null)
            {
                return new SettleResult(true, clock.Elapsed.TotalMilliseconds, null);
            }

            if (clock.Elapsed >= timeout)
            {
                return new SettleResult(false, clock.Elapsed.TotalMilliseconds, wrong);
            }

            await Task.Delay(Pause, ct).ConfigureAwait(false);
        }
    }

    private static async Task<string?> WhatIsWrongAsync(IReadOnlyList<MemcachedClient> clients, IReadOnlyList<ServerEndPoint> servers, string[] probes, int attempt, CancellationToken ct)
    {
        var wrong = new List<string>();
        for (var f = 0; f < clients.Count; f++)
        {
            for (var s = 0; s < servers.Count; s++)
            {
                var state = clients[f].GetServerState(servers[s]);
                if (state != ServerState.Up)
                {
                    wrong.Add(string.Create(CultureInfo.InvariantCulture, $"frontend {f}: server {s} {state}"));
                    continue;
                }

                var value = string.Create(CultureInfo.InvariantCulture, $"settle-{f}-{attempt}");
                try
                {
                    var stored = await clients[f].SetAsync(probes[s], value, cancellationToken: ct).ConfigureAwait(false);
                    var read = await clients[f].GetStringAsync(probes[s], ct).ConfigureAwait(false);
                    if (!stored.IsStored || read != value)
                    {
                        wrong.Add(string.Create(CultureInfo.InvariantCulture, $"frontend {f}: server {s} up but a key of it not served ({stored.Status}, read {(read is null ? "a miss" : "another value")})"));
                    }
                }
                catch (MemcachedException e)
                {
                    wrong.Add(string.Create(CultureInfo.InvariantCulture, $"frontend {f}: server {s} up but {e.GetType().Name}"));
                }
            }
        }

        return wrong.Count == 0 ? null : string.Join("; ", wrong);
    }
}
