namespace Ballast.SharedView;

/// <summary>
/// This frontend's copy of the shared view, with its lease: the copy counts only while the last quorum read that
/// refreshed it started less than the bound B ago. Past that, nothing is readable, because a fence published since
/// may not be known here yet. Reads are served on a shorter lease (see <see cref="IsLeaseFreshForReads"/>).
/// </summary>
internal sealed class ClusterView
{
    private readonly TimeProvider _time;
    private readonly long _boundTicks;
    private readonly long _readLeaseTicks;
    private ViewEntry[] _entries;
    private long _leaseStart;
    private bool _hasLease;
    private readonly Lock _lock = new();

    /// <param name="entryCount">How many servers the view has a record of.</param>
    /// <param name="bound">The bound B: the lease of the view.</param>
    /// <param name="readLease">
    /// The lease for serving reads: B less the time an invalidation whose caller left may take before it fences (see
    /// <see cref="IsLeaseFreshForReads"/>).
    /// </param>
    /// <param name="time">The clock.</param>
    /// <param name="enabled">False when the pool keeps no shared view.</param>
    public ClusterView(int entryCount, TimeSpan bound, TimeSpan readLease, TimeProvider time, bool enabled)
    {
        _time = time;
        _boundTicks = (long)(bound.TotalSeconds * time.TimestampFrequency);
        _readLeaseTicks = (long)(readLease.TotalSeconds * time.TimestampFrequency);
        _entries = Enumerable.Repeat(ViewEntry.Initial, entryCount).ToArray();
        Enabled = enabled;
    }

    /// <summary>How many servers the view has a record of.</summary>
    public int Count => Volatile.Read(ref _entries).Length;

    /// <summary>False when the pool keeps no shared view: every server then counts as up here and the lease never lapses.</summary>
    public bool Enabled { get; }

    /// <summary>True while the last quorum read started within the bound.</summary>
    public bool IsLeaseFresh => LeaseStartedWithin(_boundTicks);

    /// <summary>
    /// True while the last quorum read started within the read lease, shorter than the bound by the grace an
    /// invalidation gets once its caller has left (<c>Bound / 4</c>): such an invalidation fences its server only when
    /// that grace is over, yet every frontend must stop reading the old value within the bound of the call's return.
    /// A frontend whose view was read just before that fence, and whose next reads are slow (a slow link below the
    /// timeout), served the old value for the whole bound after the fence, a quarter of it too long (simulator seed
    /// gutter 22021).
    /// </summary>
    public bool IsLeaseFreshForReads => LeaseStartedWithin(_readLeaseTicks);

    private bool LeaseStartedWithin(long ticks) => !Enabled || (Volatile.Read(ref _hasLease) && _time.GetTimestamp() - Volatile.Read(ref _leaseStart) <= ticks);

    /// <summary>True when a quorum read has ever succeeded (or there is no view).</summary>
    public bool HasLease => !Enabled || Volatile.Read(ref _hasLease);

    /// <summary>Time since the last quorum read that renewed the lease started (for the view-age gauge).</summary>
    public TimeSpan LeaseAge => _time.GetElapsedTime(Volatile.Read(ref _leaseStart));

    public ViewEntry this[int index] => Volatile.Read(ref _entries)[index];

    /// <summary>True when the view says the server is up (not fenced).</summary>
    public bool IsUp(int index) => !Enabled || !Volatile.Read(ref _entries)[index].IsDown;

    /// <summary>
    /// Takes in a read. Only a quorum read renews the lease; any read may raise epochs, since records only grow.
    /// Returns the indexes whose record changed.
    /// </summary>
    public List<int> Apply(ViewReadResult read, long readStartTimestamp)
    {
        var changed = new List<int>();
        lock (_lock)
        {
            var next = (ViewEntry[])_entries.Clone();
            for (var i = 0; i < next.Length; i++)
            {
                if (read.Entries[i].Epoch > next[i].Epoch || SupersedesLost(next[i], read.Entries[i]))
                {
                    next[i] = read.Entries[i];
                    changed.Add(i);
                }
            }

            Volatile.Write(ref _entries, next);
            if (read.IsQuorum && (!_hasLease || readStartTimestamp > _leaseStart))
            {
                Volatile.Write(ref _leaseStart, readStartTimestamp);
                Volatile.Write(ref _hasLease, true);
            }
        }

        return changed;
    }

    /// <summary>
    /// Whether a record a read vouches for replaces a "lost" verdict this frontend holds: the verdict's epoch is made up
    /// (one past the record it could not vouch for), so the record a later read does vouch for, at that epoch or after,
    /// is the truth the verdict stood in for. A read from a quorum with one member just restarted (empty) and another
    /// still unreachable finds a record lost; a read a moment later, with the unreachable one back, finds it whole. Kept
    /// at its made-up epoch, the verdict would hold the server down for ever: no recovery (its record is not lost) and
    /// no failback (its record is not a fence) would ever lift it.
    /// </summary>
    private static bool SupersedesLost(ViewEntry held, ViewEntry read)
        => held.IsLost && !read.IsLost && read.Epoch > 0 && read.Epoch >= held.Epoch - 1;

    /// <summary>Records an entry this frontend published (or is about to), if it is newer than what it has.</summary>
    public void ApplyLocal(int index, ViewEntry entry)
    {
        lock (_lock)
        {
            if (entry.Epoch > _entries[index].Epoch)
            {
                var next = (ViewEntry[])_entries.Clone();
                next[index] = entry;
                Volatile.Write(ref _entries, next);
            }
        }
    }
}
