namespace Ballast.Cli.Chaos;

/// <summary>What a policy's run found besides its reads, writes and counters.</summary>
/// <param name="Settle">Whether the pool settled after the run.</param>
/// <param name="Flushes">The flush checks (no server flushed twice for one outage, no readmission without a flush).</param>
/// <param name="FlushSamples">memcached's own flush counts through the run.</param>
/// <param name="Restarts">What the restart-with-a-lease-out fault did.</param>
/// <param name="KeyNames">Every key's name by index, for explaining stale reads.</param>
public sealed record RunChecks(SettleResult Settle, FlushCheck Flushes, IReadOnlyList<FlushSample> FlushSamples, RestartLeases Restarts, IReadOnlyList<string> KeyNames);
