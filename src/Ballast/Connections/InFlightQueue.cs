using Ballast.Protocol.Commands;

namespace Ballast.Connections;

/// <summary>
/// The FIFO of a connection's requests awaiting their responses: a ring buffer under a short lock. Unlike
/// <see cref="System.Collections.Concurrent.ConcurrentQueue{T}"/>, which allocates a new segment every few dozen
/// requests as its consumer moves on, it reuses its array, so a request costs no allocation here.
/// </summary>
internal sealed class InFlightQueue
{
    private readonly Lock _lock = new();
    private MetaCommand?[] _items = new MetaCommand?[64];
    private int _head;
    private int _count;

    /// <summary>Requests queued: sent, or formatted and about to be.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _count;
            }
        }
    }

    public void Enqueue(MetaCommand command)
    {
        lock (_lock)
        {
            if (_count == _items.Length)
            {
                Grow();
            }

            _items[(_head + _count) & (_items.Length - 1)] = command;
            _count++;
        }
    }

    public bool TryPeek(out MetaCommand command)
    {
        lock (_lock)
        {
            command = _count == 0 ? null! : _items[_head]!;
            return _count != 0;
        }
    }

    /// <summary>
    /// The oldest request and when it was handed to a send, read together under the lock: read apart, a request
    /// completed and reused in between would show a new request's stamp (or 0) beside another's identity, and a
    /// healthy connection could be poisoned for a timeout that never happened.
    /// </summary>
    public bool TryPeekOldest(out MetaCommand command, out long writtenTimestamp)
    {
        lock (_lock)
        {
            if (_count == 0)
            {
                command = null!;
                writtenTimestamp = 0;
                return false;
            }

            command = _items[_head]!;
            writtenTimestamp = command.WrittenTimestamp;
            return true;
        }
    }

    /// <summary>The request queued right behind the oldest, if any.</summary>
    public bool TryPeekSecond(out MetaCommand command)
    {
        lock (_lock)
        {
            command = _count < 2 ? null! : _items[(_head + 1) & (_items.Length - 1)]!;
            return _count >= 2;
        }
    }

    public bool TryDequeue(out MetaCommand command)
    {
        lock (_lock)
        {
            if (_count == 0)
            {
                command = null!;
                return false;
            }

            command = _items[_head]!;
            _items[_head] = null;
            _head = (_head + 1) & (_items.Length - 1);
            _count--;
            return true;
        }
    }

    /// <summary>
    /// Stamps the <paramref name="count"/> newest requests with the time they are handed to a send: a request's
    /// timeout counts from when the server could first see it, not from when it was formatted and held back.
    /// </summary>
    public void StampNewest(int count, long timestamp)
    {
        lock (_lock)
        {
            for (var i = Math.Max(0, _count - count); i < _count; i++)
            {
                _items[(_head + i) & (_items.Length - 1)]!.WrittenTimestamp = timestamp;
            }
        }
    }

    // The length stays a power of two, so positions wrap with a mask.
    private void Grow()
    {
        var larger = new MetaCommand?[_items.Length * 2];
        for (var i = 0; i < _count; i++)
        {
            larger[i] = _items[(_head + i) & (_items.Length - 1)];
        }

        _items = larger;
        _head = 0;
    }
}
