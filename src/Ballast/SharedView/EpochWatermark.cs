namespace Ballast.SharedView;

/// <summary>
/// The highest epoch this frontend has seen for each server's record, in any store: a record older than that was lost
/// and rewritten (or forged), so it proves nothing.
/// </summary>
internal sealed class EpochWatermark
{
    private readonly long[] _highest;

    public EpochWatermark(int count) => _highest = new long[count];

    public long this[int index] => Volatile.Read(ref _highest[index]);

    /// <summary>Every server's mark as it is now: what a read that begins now is judged against.</summary>
    public long[] Snapshot()
    {
        var marks = new long[_highest.Length];
        for (var i = 0; i < marks.Length; i++)
        {
            marks[i] = Volatile.Read(ref _highest[i]);
        }

        return marks;
    }

    public void Raise(int index, long epoch)
    {
        var current = Volatile.Read(ref _highest[index]);
        while (epoch > current)
        {
            var was = Interlocked.CompareExchange(ref _highest[index], epoch, current);
            if (was == current)
            {
                return;
            }

            current = was;
        }
    }

    /// <summary>
    /// The "up" record that ends a loss: past every epoch this frontend has seen by two (the lost entry it holds took
    /// one), and past the wall clock in ms, so a frontend that remembers a higher epoch than this one still takes it.
    /// </summary>
    public ViewEntry Recovered(int index, long nowUnixMs, string writer)
        => new(Math.Min(Math.Max(this[index] + 2, nowUnixMs), ViewEntry.MaxEpoch), false, nowUnixMs, writer);
}
