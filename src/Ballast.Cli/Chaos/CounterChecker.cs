namespace Ballast.Cli.Chaos;

/// <summary>
/// Checks the counters of a chaos run: no value may be handed out twice within one epoch of the counter's server.
/// An epoch ends when any frontend readmits that server (after the flush that restarts its counters from their
/// initial value, as any cached value is lost). Two frontends that each got the same number from one counter, with
/// no readmission of its server in between, would be the seed's "two users got the same UID".
/// </summary>
public static class CounterChecker
{
    /// <summary>The values handed out more than once within one epoch of their counter's server.</summary>
    /// <param name="counters">Every value handed out, in time order.</param>
    /// <param name="events">The clients' events; readmissions (not failures) end an epoch of their server.</param>
    /// <param name="counterServers">Counter index → its main server's index.</param>
    public static IReadOnlyList<CounterRecord> Duplicates(IReadOnlyList<CounterRecord> counters, IReadOnlyList<ClientEvent> events, IReadOnlyList<int> counterServers)
    {
        ArgumentNullException.ThrowIfNull(counters);
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(counterServers);
        var duplicates = new List<CounterRecord>();
        foreach (var group in counters.GroupBy(c => c.Counter))
        {
            var server = counterServers[group.Key];
            var readmissions = events.Where(e => !e.Failed && e.Server == server).Select(e => e.AtMs).Order().ToArray();
            var seen = new HashSet<(int Epoch, ulong Value)>();
            foreach (var record in group.OrderBy(c => c.AtMs))
            {
                var epoch = CountBefore(readmissions, record.AtMs);
                if (!seen.Add((epoch, record.Value)))
                {
                    duplicates.Add(record);
                }
            }
        }

        return duplicates;
    }

    private static int CountBefore(double[] sorted, double at)
    {
        var index = Array.BinarySearch(sorted, at);
        return index >= 0 ? index : ~index;
    }
}
