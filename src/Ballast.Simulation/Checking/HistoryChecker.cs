namespace Ballast.Simulation.Checking;

/// <summary>
/// The rules a world's history must keep, the same as <c>ballast chaos</c> checks plus those only a simulation can
/// see (it knows every server's flushes):
/// <list type="bullet">
/// <item><c>stale-read</c>: no read returns a version older than one whose write completed more than B before the read began
/// (<c>stale-read-getorcreate-run</c> when the value came from a GetOrCreate run that read the database before that write);</item>
/// <item><c>counter-duplicate</c>: no counter value is handed out twice with no readmission of its server in between (chaos's rule);</item>
/// <item><c>counter-across-flush</c>: no frontend that was using a counter goes on using it after a Ballast flush of its server without first readmitting the server;</item>
/// <item><c>double-flush</c>: no server is flushed by two frontends for one outage (one epoch of its record);</item>
/// <item><c>readmission-without-flush</c>: every readmission follows a Ballast flush that landed after its outage began;</item>
/// <item><c>not-settled</c>: after the last fault, every frontend has every server up again (and stays so) within the settling time;</item>
/// <item><c>protocol</c> and <c>determinism-leak</c>: no unexpected answer reached the application, and nothing ran off the loop's thread.</item>
/// </list>
/// </summary>
internal static class HistoryChecker
{
    public static List<Violation> Check(History history, SimulationOptions options, World world)
    {
        var violations = new List<Violation>();
        StaleReads(history, options, world.MainServers, violations);
        violations.AddRange(CounterDuplicates(history, world.HomeOf));
        CountersAcrossFlushes(history, violations);
        DoubleFlushes(history, violations);
        ReadmissionsWithoutFlush(history, violations);
        if (world.SettledAt < 0 && options.Policy != FailoverPolicy.Rehash)
        {
            violations.Add(new Violation("not-settled", world.Now, $"some frontend still had a server down or its view stale {options.MaxSettleTime.TotalSeconds:0} s after the active phase"));
        }

        // A value the workload never wrote. (A MemcachedProtocolException is an error the application sees, not a wrong
        // value: a blackhole that drops a request's bytes puts the connection out of step, and the client closes it.)
        foreach (var op in history.Operations.Where(o => o.Outcome.Contains("InvalidData", StringComparison.Ordinal)))
        {
            violations.Add(new Violation("protocol", op.End, $"frontend {op.Frontend} {op.Kind} {op.Key}: {op.Outcome}"));
        }

        foreach (var leak in world.Loop.Leaks.Take(3))
        {
            violations.Add(new Violation("determinism-leak", world.Now, $"{leak.EntryPoint} called on thread {leak.ThreadId}: {leak.Stack.Split('\n').FirstOrDefault()?.Trim()}"));
        }

        violations.Sort((a, b) => a.At.CompareTo(b.At));
        return violations;
    }

    /// <summary>The chaos checker's rule: stale when older than a write completed before the read began; beyond B counts.</summary>
    private static void StaleReads(History history, SimulationOptions options, int servers, List<Violation> violations)
    {
        var bound = options.Bound.Ticks;
        var writes = history.Operations.Where(o => o.IsWrite).GroupBy(o => o.KeyIndex).ToDictionary(g => g.Key, g => g.OrderBy(w => w.End).ToArray());
        foreach (var read in history.Operations.Where(o => o.IsRead))
        {
            if (!writes.TryGetValue(read.KeyIndex, out var keyWrites))
            {
                continue;
            }

            // The oldest write completed before the read began whose version the read missed.
            foreach (var write in keyWrites)
            {
                if (write.End >= read.Start)
                {
                    break;
                }

                if (write.Version > read.Version)
                {
                    var staleness = read.Start - write.End;
                    if (staleness > bound)
                    {
                        // A GetOrCreate caller that got the value of a run (its own frontend's factory) which read the
                        // database before the write completed: issue 16's join of a run begun before an invalidation.
                        var joined = read.Kind == Workload.OperationKind.GetOrCreate && !read.Outcome.StartsWith("created", StringComparison.Ordinal)
                            && history.FactoryRuns.TryGetValue((read.Frontend, read.Key, read.Version), out var factoryRead) && factoryRead < write.End;
                        violations.Add(new Violation(StaleKind(history, servers, bound, read, write, Array.Find(keyWrites, w => w.Version == read.Version), joined), read.Start, FormattableString.Invariant(
                            $"frontend {read.Frontend} {read.Kind} of {read.Key} began at {read.Start / 10_000.0:0.0} ms and returned v{read.Version} ({read.Outcome}), but frontend {write.Frontend}'s {write.Kind} of v{write.Version} had returned ({write.Outcome}) at {write.End / 10_000.0:0.0} ms, {staleness / 10_000.0:0.0} ms before")));
                    }

                    break;
                }
            }
        }
    }

    /// <summary>How long after a cut heals the journal may take to land what the cut-off frontend owes (ticks).</summary>
    private static readonly long JournalPaysWithin = TimeSpan.FromSeconds(2).Ticks;

    /// <summary>
    /// Names a stale read by the write it missed, where that write is one of issue 16's known breaks: a GetOrCreate
    /// run begun before the write (#1); a write-through set that did not land and left the old value (#3, "a write
    /// that did not land is an invalidation"); a write whose frontend could reach no quorum to invalidate or fence
    /// (documented: the invalidation is owed; a cancelled caller is not told).
    /// </summary>
    private static string StaleKind(History history, int servers, long bound, OperationRecord read, OperationRecord write, OperationRecord? valueWrite, bool joined)
    {
        // A writer that could reach no majority of the servers while it had to invalidate (a blip, or partitions and
        // paused servers together) can neither land its write, nor invalidate, nor fence: whatever the write's kind,
        // that is the documented no-quorum case, owed until the cut heals. Once it heals the journal pays the debt
        // within a round of retries; a stale read that begins later is a break again. The same holds for the write
        // that left the stale value, when its caller left before it landed (a slow link delivers it late) and its
        // frontend could then reach no quorum to invalidate it.
        var cutOff = (NoQuorumWhileInvalidating(history, servers, bound, write) is { } healed && read.Start <= healed + JournalPaysWithin)
            || (valueWrite is not null && valueWrite.Outcome == "cancelled" && NoQuorumWhileInvalidating(history, servers, bound, valueWrite) is { } healedToo && read.Start <= healedToo + JournalPaysWithin);
        // The same case, told: the write's call threw InvalidationOwedException (the invalidation could be neither
        // confirmed nor fenced: no quorum of the view answered this frontend).
        if (cutOff || write.Outcome.Contains(nameof(InvalidationOwedException), StringComparison.Ordinal))
        {
            return "stale-read-no-quorum";
        }

        // Judged after the no-quorum case: a GetOrCreate's "cached or joined" value may be either, and a cached one is
        // explained by an invalidation that reached no quorum.
        if (joined)
        {
            return "stale-read-getorcreate-run";
        }

        return (write.Kind is Workload.OperationKind.Set or Workload.OperationKind.BatchSet && write.Outcome != "Stored") || write.Kind == Workload.OperationKind.CacheSet
            ? "stale-read-unstored-set"
            : "stale-read";
    }

    /// <summary>
    /// When the writer's frontend could reach no majority of the main servers at some moment it had to invalidate:
    /// when its call ended, or, for a call its caller left, while the invalidation ran on (up to the bound after);
    /// the time it could again, or null.
    /// </summary>
    private static long? NoQuorumWhileInvalidating(History history, int servers, long bound, OperationRecord write)
    {
        var until = write.Outcome == "cancelled" ? write.End + bound : write.End;
        return history.Faults.Where(f => !f.Lifted && f.Fault.Start > write.End && f.Fault.Start <= until).Select(f => f.Fault.Start).Prepend(write.End)
            .Select(at => NoQuorumUntil(history, servers, write.Frontend, at)).FirstOrDefault(healed => healed is not null);
    }

    /// <summary>
    /// When <paramref name="frontend"/> could reach no majority of the main servers at <paramref name="at"/>: the
    /// time it could again, or null if it could reach a majority. The cut may change shape while it lasts: a blip that
    /// begins before a partition heals keeps the frontend cut past the partition (replicated 24005874: a cancelled
    /// set's frontend was cut from two of three servers until 3760 ms, and by a blip from all of them from 3722 ms
    /// to 6000 ms; judged by the partition alone, the journal's debt fell due at 5760 ms, while the frontend was still
    /// cut off). So the cut is followed to the first moment a majority answers.
    /// </summary>
    private static long? NoQuorumUntil(History history, int servers, int frontend, long at)
    {
        if (NoQuorumHeals(history, servers, frontend, at) is not { } healed)
        {
            return null;
        }

        while (NoQuorumHeals(history, servers, frontend, healed) is { } later)
        {
            healed = later;
        }

        return healed;
    }

    /// <summary>
    /// When the cuts that hold at <paramref name="at"/> stop keeping <paramref name="frontend"/> from a majority (lifted
    /// one by one, earliest first; a cut that begins later is not counted); null if it could reach a majority. A server
    /// is out of reach while it is killed or paused, blackholed, or its link from this frontend is partitioned (either
    /// way), resets every connection, or is gone in a blip.
    /// </summary>
    private static long? NoQuorumHeals(History history, int servers, int frontend, long at)
    {
        var cutUntil = new long[servers];
        foreach (var fault in history.Faults.Where(f => !f.Lifted).Select(f => f.Fault).Where(f => f.Start <= at && f.End > at))
        {
            var cut = fault.Kind switch
            {
                Faults.FaultKind.Kill or Faults.FaultKind.Pause or Faults.FaultKind.Blackhole => fault.Server < servers ? [fault.Server] : [],
                Faults.FaultKind.Partition or Faults.FaultKind.OneWayPartition or Faults.FaultKind.Reset when fault.Frontend == frontend && fault.Server < servers => [fault.Server],
                Faults.FaultKind.Blip when fault.Frontend == frontend => Enumerable.Range(0, servers),
                _ => Enumerable.Empty<int>(),
            };
            foreach (var server in cut)
            {
                cutUntil[server] = Math.Max(cutUntil[server], fault.End);
            }
        }

        var majority = (servers / 2) + 1;
        var cuts = cutUntil.Where(end => end > 0).Order().ToArray();
        var reachable = servers - cuts.Length;
        return reachable >= majority ? null : cuts[majority - reachable - 1];
    }

    /// <summary>The counter rule alone: no value handed out twice in one epoch of the counter's server (<paramref name="homeOf"/>).</summary>
    internal static List<Violation> CounterDuplicates(History history, Func<string, int> homeOf)
    {
        var violations = new List<Violation>();
        foreach (var counter in history.Operations.Where(o => o.Kind == Workload.OperationKind.Increment && o.Hit).GroupBy(o => o.Key))
        {
            var server = homeOf(counter.Key);
            // An epoch of the counter's server ends at a readmission, and wherever the counter was emptied: by a flush_all
            // (the fault injector's operator flush, or a frontend's: a recovery that found the view's records lost
            // flushes every server), or an eviction. Counters restart there as any cached value does; a frontend that
            // goes on incrementing across another's flush without readmitting is counter-across-flush's business.
            var readmissions = history.Events.Where(e => !e.Failed && e.Server == server).Select(e => e.At)
                .Concat(history.ServerRecords.Where(r => r.Server == server && r.What is "operator flush" or "evict" or "flush_all").Select(r => r.At))
                .Order().ToArray();
            // The epoch is the one the server counted in, not the one the answer reached the frontend in: a flush that
            // lands between the server's increment and its answer's arrival empties the counter after this value.
            var counted = history.ServerRecords.Where(r => r.Server == server && r.What == "ma" && r.Key == counter.Key)
                .GroupBy(r => (r.Frontend, r.Number)).ToDictionary(g => g.Key, g => g.Select(r => r.At).ToArray());
            var seen = new Dictionary<(int Epoch, long Value), OperationRecord>();
            foreach (var record in counter.OrderBy(c => c.End))
            {
                var at = record.End;
                if (counted.TryGetValue((record.Frontend, (ulong)record.Version), out var times))
                {
                    foreach (var time in times.Where(t => t >= record.Start && t <= record.End))
                    {
                        at = time;
                    }
                }

                var epoch = CountBefore(readmissions, at);
                if (!seen.TryAdd((epoch, record.Version), record))
                {
                    var first = seen[(epoch, record.Version)];
                    violations.Add(new Violation("counter-duplicate", record.End, FormattableString.Invariant(
                        $"{counter.Key} (server {server}) handed out {record.Version} to frontend {record.Frontend} at {record.End / 10_000.0:0.0} ms, and to frontend {first.Frontend} at {first.End / 10_000.0:0.0} ms, with no readmission of server {server} (nor a flush or an eviction) in between")));
                }
            }
        }

        return violations;
    }

    private static void CountersAcrossFlushes(History history, List<Violation> violations)
    {
        foreach (var server in history.ServerRecords.GroupBy(r => r.Server))
        {
            var flushes = server.Where(r => r.What == "flush_all" && r.Frontend >= 0).ToArray();
            foreach (var flush in flushes)
            {
                foreach (var frontend in server.Where(r => r.What == "ma").GroupBy(r => r.Frontend))
                {
                    var lastReadmission = history.Events.Where(e => !e.Failed && e.Server == server.Key && e.Frontend == frontend.Key && e.At < flush.At).Select(e => e.At).DefaultIfEmpty(long.MinValue).Max();
                    var usedBefore = frontend.Any(r => r.At < flush.At && r.At > lastReadmission);
                    var after = frontend.FirstOrDefault(r => r.SentAt > flush.At);
                    if (!usedBefore || after is null)
                    {
                        continue;
                    }

                    var readmitted = history.Events.Any(e => !e.Failed && e.Server == server.Key && e.Frontend == frontend.Key && e.At > flush.At && e.At <= after.SentAt);
                    if (!readmitted)
                    {
                        violations.Add(new Violation("counter-across-flush", after.At, FormattableString.Invariant(
                            $"frontend {frontend.Key} was incrementing counters on server {server.Key} when frontend {flush.Frontend}'s flush_all landed at {flush.At / 10_000.0:0.0} ms, and sent another increment ({after.Key} = {after.Number}) at {after.SentAt / 10_000.0:0.0} ms without having readmitted the server")));
                    }
                }
            }
        }
    }

    /// <summary>
    /// No outage flushed by two frontends: the failback lock (and the recovery's) gives each outage epoch of a server one
    /// flusher. (The lock's holder flushes again, for the same epoch, when a fence touched the record during its
    /// failback: a delete that failed after its flush began needs a flush after it. That is one frontend, and allowed.)
    /// </summary>
    private static void DoubleFlushes(History history, List<Violation> violations)
    {
        var outages = history.Flushes
            .Where(f => f.Epoch > 0 && f.Reason is ServerFlushReason.Failback or ServerFlushReason.LostRecord)
            .GroupBy(f => (f.Server, f.Epoch));
        foreach (var outage in outages)
        {
            var flushers = outage.OrderBy(f => f.At).ToArray();
            var second = flushers.FirstOrDefault(f => f.Frontend != flushers[0].Frontend);
            if (second is not null)
            {
                violations.Add(new Violation("double-flush", second.At, FormattableString.Invariant(
                    $"server {outage.Key.Server} was flushed for its outage at epoch {outage.Key.Epoch} by frontend {flushers[0].Frontend} at {flushers[0].At / 10_000.0:0.0} ms and again by frontend {second.Frontend} at {second.At / 10_000.0:0.0} ms")));
            }
        }
    }

    private static void ReadmissionsWithoutFlush(History history, List<Violation> violations)
    {
        foreach (var readmission in history.Events.Where(e => !e.Failed))
        {
            var failures = history.Events.Where(e => e.Failed && e.Server == readmission.Server && e.At <= readmission.At).ToArray();

            // A lost verdict (a read that could not vouch for the record: one witness just restarted, another out of
            // reach) that a later read found whole again: the frontend "readmits" the server at the record's own epoch,
            // below the verdict's made-up one. No outage of the server was recorded in the view, so there is nothing to flush.
            var lastReadmission = history.Events.Where(e => !e.Failed && e.Server == readmission.Server && e.Frontend == readmission.Frontend && e.At < readmission.At).Select(e => e.At).DefaultIfEmpty(long.MinValue).Max();
            var thisOutage = failures.Where(e => e.Frontend == readmission.Frontend && e.At > lastReadmission).ToArray();
            if (readmission.Epoch > 0 && thisOutage.Length > 0 && thisOutage.All(e => e.Epoch > readmission.Epoch))
            {
                continue;
            }

            // A frontend cut off before its own fence reached the view (its outage epoch made up from a view it had not
            // read yet) finds, when its links return, the record that was up all along: nobody fenced the server, so
            // nobody skipped an invalidation there on the strength of a flush to come, and its own failed ones are
            // owed until the server confirms them (which the stale-read checks judge). That is no readmission after
            // the outage: the record was written before it began, and no replica stored a fence past it since.
            var outageBegan = thisOutage.Select(e => e.At).DefaultIfEmpty(long.MaxValue).Min();
            if (history.UpRecordsWritten.TryGetValue((readmission.Server, readmission.Epoch), out var written) && written < outageBegan
                && !history.FencesWritten.Any(f => f.Server == readmission.Server && f.Epoch > readmission.Epoch && f.At < readmission.At))
            {
                continue;
            }

            long outageStart;
            if (readmission.Epoch > 0 && failures.Any(e => e.Epoch < readmission.Epoch))
            {
                // The outage began with the first failure any frontend saw since the server's previous readmission.
                // Not by epoch alone: a lost record's verdict (a made-up epoch) and its fence (past the clock) name one
                // outage with two epochs, and a frontend that lagged saw only the second, after the flush.
                // A failure at the very instant of that readmission belongs to the next outage when its epoch is higher:
                // one view read can apply both, an older readmission and a newer fence (simulator seed gutter 40002016,
                // where the fence of the outage this readmission ends was dropped as "before" it).
                var previous = history.Events.Where(e => !e.Failed && e.Server == readmission.Server && e.Epoch < readmission.Epoch && e.At <= readmission.At)
                    .Select(e => (e.At, e.Epoch)).DefaultIfEmpty((At: long.MinValue, Epoch: long.MinValue)).Max();
                outageStart = failures.Where(e => e.Epoch < readmission.Epoch && (e.At > previous.At || (e.At == previous.At && e.Epoch > previous.Epoch)))
                    .Select(e => e.At).DefaultIfEmpty(readmission.At).Min();
            }
            else
            {
                outageStart = failures.Where(e => e.Frontend == readmission.Frontend).Select(e => e.At).DefaultIfEmpty(0).Max();
            }

            var flushed = history.ServerRecords.Any(r => r.What == "flush_all" && r.Frontend >= 0 && r.Server == readmission.Server && r.At >= outageStart && r.At <= readmission.At);

            // A frontend that read a record lost while a recovery was between its flush and its "up" (the flush wiped
            // the witness's copies; they come back with the readmission) saw an outage that began after the flush. No
            // frontend fenced the server since that flush (a fence after it would have failed the readmission's
            // compare-and-swap), so nobody skipped an invalidation there on the strength of a flush to come.
            var lastFlush = history.ServerRecords.Where(r => r.What == "flush_all" && r.Frontend >= 0 && r.Server == readmission.Server && r.At <= readmission.At)
                .Select(r => r.At).DefaultIfEmpty(long.MinValue).Max();
            var recordWritten = history.UpRecordsWritten.TryGetValue((readmission.Server, readmission.Epoch), out var upAt) ? upAt : long.MaxValue;
            var readmittedByThatFlush = lastFlush > long.MinValue && lastFlush <= recordWritten && recordWritten <= readmission.At
                && !history.FencesWritten.Any(f => f.Server == readmission.Server && f.At > lastFlush && f.At < recordWritten);
            if (!flushed && !readmittedByThatFlush)
            {
                violations.Add(new Violation("readmission-without-flush", readmission.At, FormattableString.Invariant(
                    $"frontend {readmission.Frontend} readmitted server {readmission.Server} (epoch {readmission.Epoch}) with no flush of it since its outage began at {outageStart / 10_000.0:0.0} ms")));
            }
        }
    }

    private static int CountBefore(long[] sorted, long at)
    {
        var index = Array.BinarySearch(sorted, at);
        return index >= 0 ? index : ~index;
    }
}
