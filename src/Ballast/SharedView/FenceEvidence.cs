namespace Ballast.SharedView;

/// <summary>
/// For each server, the earliest moment this frontend knew its latest fence to be held by a write quorum of the view's
/// replicas (it published the fence itself, or read it from that many): what the flush of a fenced server waits on.
/// </summary>
internal sealed class FenceEvidence
{
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly long[] _epoch;
    private readonly long[] _since;

    public FenceEvidence(int count, TimeProvider time)
    {
        _time = time;
        _epoch = new long[count];
        _since = new long[count];
    }

    /// <summary>A write quorum holds the fence of server <paramref name="index"/> at <paramref name="epoch"/>, now.</summary>
    public void HeldBy(int index, long epoch)
    {
        lock (_lock)
        {
            if (epoch > _epoch[index])
            {
                _epoch[index] = epoch;
                _since[index] = _time.GetTimestamp();
            }
        }
    }

    /// <summary>How long a fence at <paramref name="epoch"/> or later has been known held; null when it is not known held.</summary>
    public TimeSpan? HeldFor(int index, long epoch)
    {
        lock (_lock)
        {
            return _epoch[index] >= epoch && _epoch[index] > 0 ? _time.GetElapsedTime(_since[index]) : null;
        }
    }
}
