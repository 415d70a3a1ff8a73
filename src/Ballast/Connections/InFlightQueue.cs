using Ballast.Protocol.Commands;

namespace Ballast.Connections;

/// <summary>
/// The FIFO of a connection's requests awaiting their responses: a ring buffer with one producer and lock-free takers.
/// </summary>
/// <remarks>
/// <para>
/// Every request of a busy connection passes through here twice, once from a caller's thread and once from the read
/// loop, so a lock here was taken millions of times a second from both cores, and contended: it was the largest
/// single cost of the client at concurrency 256. Instead:
/// </para>
/// <list type="bullet">
/// <item>only one thread adds at a time (callers add under the connection's write lock), so adding is a plain store
/// of the item and then of the tail;</item>
/// <item>taking claims the head by compare-and-swap, because two can take at once: the read loop taking an answered
/// request and a poisoning draining the queue (which may fail the command the read loop was about to take; see
/// <c>MetaConnection.DequeueAnswered</c>);</item>
/// <item>head and tail only grow (64-bit), so a claim that succeeds proves the slot still held what was read from it:
/// the producer reuses a slot only once the head has passed it.</item>
/// </list>
/// <para>
/// Unlike <see cref="System.Collections.Concurrent.ConcurrentQueue{T}"/>, which allocates a new segment every few dozen
/// requests as its consumer moves on, the ring reuses its array, so a request costs no allocation here.
/// </para>
/// </remarks>
internal sealed class InFlightQueue
{
    private MetaCommand?[] _items = new MetaCommand?[64];
    private long _head;
    private long _tail;

    /// <summary>Requests queued: sent, or formatted and about to be. Exact for the producer; a snapshot for others.</summary>
    public int Count => (int)(Volatile.Read(ref _tail) - Volatile.Read(ref _head));

    /// <summary>Adds a request. Callers must not add concurrently (the connection's write lock serialises them).</summary>
    public void Enqueue(MetaCommand command)
    {
        var tail = _tail;
        var items = _items;
        if (tail - Volatile.Read(ref _head) == items.Length)
        {
            items = Grow(tail);
        }

        Volatile.Write(ref items[tail & (items.Length - 1)], command);
        Volatile.Write(ref _tail, tail + 1);
    }

    /// <summary>
    /// The request <paramref name="offset"/> places behind the oldest (0: the oldest, 1: the one right behind it), if
    /// any. The head not having moved after the slot was read proves the slot still held that request.
    /// </summary>
    public bool TryPeekAt(long offset, out MetaCommand command)
    {
        while (true)
        {
            if (!TryReadAt(offset, out var head, out _, out var item))
            {
                command = null!;
                return false;
            }

            if (item is not null && Volatile.Read(ref _head) == head)
            {
                command = item;
                return true;
            }
        }
    }

    /// <summary>
    /// The oldest request and when it was handed to a send, read together: read apart, a request completed and reused
    /// in between would show a new request's stamp (or 0) beside another's identity, and a healthy connection could be
    /// poisoned for a timeout that never happened. The head not having moved after the stamp was read proves the
    /// request was still waiting then (it is taken off before it completes, so before it can be reused).
    /// </summary>
    public bool TryPeekOldest(out MetaCommand command, out long writtenTimestamp)
    {
        while (true)
        {
            if (!TryReadAt(0, out var head, out _, out var item))
            {
                command = null!;
                writtenTimestamp = 0;
                return false;
            }

            var stamp = item?.WrittenTimestamp ?? 0;
            if (item is not null && Volatile.Read(ref _head) == head)
            {
                command = item;
                writtenTimestamp = stamp;
                return true;
            }
        }
    }

    public bool TryDequeue(out MetaCommand command)
    {
        while (true)
        {
            if (!TryReadAt(0, out var head, out var items, out var item))
            {
                command = null!;
                return false;
            }

            if (item is null || Interlocked.CompareExchange(ref _head, head + 1, head) != head)
            {
                // Another taker claimed this position first (or a growth's copy had not reached it): look again.
                continue;
            }

            // Let go of the reference, unless the producer has already put a newer request in the slot (it may, as
            // soon as the head moved): only our own item is cleared. The item cannot come back meanwhile, since it
            // is completed, and so reusable, only after this returns.
            Interlocked.CompareExchange(ref items[head & (items.Length - 1)], null, item);
            command = item;
            return true;
        }
    }

    /// <summary>
    /// Reads the item <paramref name="offset"/> places behind the head, as of now; false when fewer are queued. The
    /// array is read after the tail, so it is one the items below that tail were written to (a growth publishes its
    /// array before the tail that needed it). The caller proves the read current by the head not having moved.
    /// </summary>
    private bool TryReadAt(long offset, out long head, out MetaCommand?[] items, out MetaCommand? item)
    {
        head = Volatile.Read(ref _head);
        if (Volatile.Read(ref _tail) - head <= offset)
        {
            items = null!;
            item = null;
            return false;
        }

        items = Volatile.Read(ref _items);
        item = Volatile.Read(ref items[(head + offset) & (items.Length - 1)]);
        return true;
    }

    /// <summary>
    /// Stamps the <paramref name="count"/> newest requests with the time they are handed to a send: a request's
    /// timeout counts from when the server could first see it, not from when it was formatted and held back. Called
    /// by the producer (under the connection's write lock); those requests were not sent yet, so nobody takes them.
    /// </summary>
    public void StampNewest(int count, long timestamp)
    {
        var items = _items;
        var tail = _tail;
        for (var i = Math.Max(Volatile.Read(ref _head), tail - count); i < tail; i++)
        {
            if (Volatile.Read(ref items[i & (items.Length - 1)]) is { } item)
            {
                item.WrittenTimestamp = timestamp;
            }
        }
    }

    // The length stays a power of two, so positions wrap with a mask. Takers still reading the old array find the same
    // items at the same positions there; the claim on the head decides who owns each.
    private MetaCommand?[] Grow(long tail)
    {
        var old = _items;
        var larger = new MetaCommand?[old.Length * 2];
        for (var i = Volatile.Read(ref _head); i < tail; i++)
        {
            larger[i & (larger.Length - 1)] = Volatile.Read(ref old[i & (old.Length - 1)]);
        }

        Volatile.Write(ref _items, larger);
        return larger;
    }
}
