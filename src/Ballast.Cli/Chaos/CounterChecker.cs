namespace Ballast.Cli.Chaos;

/// <summary>
/// Checks the counters of a chaos run: no value may be handed out twice within one epoch of the counter's server, as
/// the frontend that gets it knows that epoch. A flush restarts a server's counters from their initial value, which
/// is allowed only where the application can tell: a frontend that readmitted the server (after the flush that made
/// it usable again) is in a new epoch; one that goes on incrementing across a flush it never noticed hands out
/// numbers it handed out before. So a value handed out at t1 (to any frontend) and again at t2 to frontend F is a
/// duplicate unless F readmitted the counter's server between t1 and t2. Two frontends that each got the same number
/// from one counter that way would be the seed's "two users got the same UID"; one frontend that goes on through a
/// flush another frontend made is issue 16's network blip.
/// </summary>
public static class CounterChecker
{
    /// <summary>The values handed out more than once within one epoch of their counter's server.</summary>
    /// <param name="counters">Every value handed out, in time order.</param>
    /// <param name="events">The clients' events; a frontend's readmissions (not failures) end its epoch of their server.</param>
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
            var readmissions = events.Where(e => !e.Failed && e.Server == server)
                .GroupBy(e => e.Frontend)
                .ToDictionary(g => g.Key, g => g.Select(e => e.AtMs).Order().ToArray());

            // When each value was last handed out, to anyone.
            var last = new Dictionary<ulong, double>();
            foreach (var record in group.OrderBy(c => c.AtMs))
            {
                if (last.TryGetValue(record.Value, out var before) && !ReadmittedBetween(readmissions, record.Frontend, before, record.AtMs))
                {
                    duplicates.Add(record);
                }

                last[record.Value] = record.AtMs;
            }
        }

        return duplicates;
    }

    private static bool ReadmittedBetween(Dictionary<int, double[]> readmissions, int frontend, double from, double to)
        => readmissions.TryGetValue(frontend, out var times) && times.Any(t => t > from && t <= to);
}
