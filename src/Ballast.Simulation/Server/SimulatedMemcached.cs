namespace Ballast.Simulation.Server;

/// <summary>
/// The state of one simulated memcached 1.6 process: its items, LRU and memory limit, its CAS counter, its clock
/// (whole seconds, as memcached's <c>current_time</c>, ticking at a phase of its own) and the flush watermark. The
/// command semantics (meta get, set, delete, arithmetic, no-op, <c>flush_all</c>, <c>version</c>) are in
/// <see cref="MetaProtocol"/>, ported from memcached 1.6.18's <c>proto_text.c</c> and <c>memcached.c</c>; the
/// differential test runs the same command streams against a real memcached and compares the answers byte for byte.
/// </summary>
internal sealed class SimulatedMemcached
{
    /// <summary>memcached sets <c>process_started</c> this many seconds before it really started (ITEM_UPDATE_INTERVAL + 2).</summary>
    public const uint StartOffset = 62;

    /// <summary>memcached's REALTIME_MAXDELTA: a TTL above 30 days is a Unix time.</summary>
    public const long RealtimeMaxDelta = 60 * 60 * 24 * 30;

    private readonly Func<long> _now;
    private readonly Dictionary<string, CacheItem> _items = new(StringComparer.Ordinal);
    private readonly LinkedList<CacheItem> _lru = new();
    private long _startTicks;
    private long _phaseTicks;
    private long _processStarted;
    private ulong _casId;
    private uint _oldestLive;
    private ulong _oldestCas;
    private long _usedBytes;

    /// <param name="name">The server's name, for traces.</param>
    /// <param name="now">The virtual clock, in <see cref="TimeSpan"/> ticks.</param>
    /// <param name="unixSecondsAt">The wall clock (Unix seconds) at a virtual time.</param>
    /// <param name="memoryLimit">Bytes of items before the least recently used are evicted.</param>
    public SimulatedMemcached(string name, Func<long> now, Func<long, long> unixSecondsAt, long memoryLimit)
    {
        Name = name;
        _now = now;
        UnixSecondsAt = unixSecondsAt;
        MemoryLimit = memoryLimit;
    }

    public string Name { get; }

    /// <summary>Bytes of items before eviction (<c>-m</c>).</summary>
    public long MemoryLimit { get; set; }

    public Func<long, long> UnixSecondsAt { get; }

    /// <summary>How many times this process started (1 at first; each restart adds one).</summary>
    public int Incarnation { get; private set; }

    /// <summary>The process id <c>stats</c> gives: a new one for each start, as a restarted process gets.</summary>
    public long ProcessId => 1000 + Incarnation;

    /// <summary>memcached's <c>time</c> in <c>stats</c>: its clock plus the second it started, so <c>time - uptime</c> is fixed for one life.</summary>
    public long UnixTime => _processStarted + CurrentTime;

    /// <summary><c>cmd_flush</c> of the current process.</summary>
    public long FlushCommands { get; set; }

    /// <summary>Items evicted for memory, over all incarnations.</summary>
    public long Evictions { get; private set; }

    public int ItemCount => _items.Count;

    /// <summary>memcached's <c>current_time</c>: seconds since it started, plus 62, moving on whole seconds.</summary>
    public uint CurrentTime => StartOffset + (uint)((_now() - _startTicks + _phaseTicks) / TimeSpan.TicksPerSecond);

    /// <summary>Starts the process (again): empty, CAS counter from 1, a new clock phase.</summary>
    /// <param name="phaseTicks">Where within a second its clock's ticks fall (0 to 1 s).</param>
    public void Start(long phaseTicks)
    {
        _items.Clear();
        _lru.Clear();
        _usedBytes = 0;
        _casId = 0;
        _oldestLive = 0;
        _oldestCas = 0;
        FlushCommands = 0;
        _startTicks = _now();
        _phaseTicks = phaseTicks;
        _processStarted = UnixSecondsAt(_startTicks) - StartOffset;
        Incarnation++;
    }

    /// <summary>memcached's <c>realtime()</c>: a TTL as given (seconds, or a Unix time past 30 days) to its clock.</summary>
    public uint RealTime(long exptime)
    {
        if (exptime == 0)
        {
            return 0;
        }

        if (exptime > RealtimeMaxDelta)
        {
            return exptime <= _processStarted ? 1 : (uint)(exptime - _processStarted);
        }

        return (uint)(exptime + CurrentTime);
    }

    /// <summary><c>EXPTIME_TO_POSITIVE_TIME</c>: a negative TTL is "already expired".</summary>
    public static long ToPositiveTime(long exptime) => exptime < 0 ? RealtimeMaxDelta + 1 : exptime;

    /// <summary><c>get_cas_id()</c>.</summary>
    public ulong NextCas() => ++_casId;

    /// <summary><c>do_item_get</c>: the live item, or null (and an expired or flushed one is unlinked).</summary>
    public CacheItem? Get(string key)
    {
        if (!_items.TryGetValue(key, out var item))
        {
            return null;
        }

        if (IsFlushed(item) || (item.Exptime != 0 && item.Exptime <= CurrentTime))
        {
            Unlink(item);
            return null;
        }

        return item;
    }

    /// <summary><c>do_item_bump</c> with the segmented LRU: a second fetch makes an item active and moves its time.</summary>
    public void Bump(CacheItem item)
    {
        Touch(item);
        if (item.Active)
        {
            return;
        }

        if (!item.Fetched)
        {
            item.Fetched = true;
        }
        else
        {
            item.Active = true;
            item.Time = CurrentTime;
        }
    }

    /// <summary><c>do_item_update</c> with the segmented LRU.</summary>
    public void Update(CacheItem item)
    {
        Touch(item);
        item.Time = CurrentTime;
    }

    /// <summary><c>do_item_link</c>: a new CAS, the time of now; evicts the least recently used items over the limit.</summary>
    public void Link(CacheItem item)
    {
        item.Time = CurrentTime;
        item.Cas = NextCas();
        _items[item.Key] = item;
        item.LruNode = _lru.AddFirst(item);
        _usedBytes += item.Size;
        EvictOverLimit(item);
    }

    /// <summary><c>do_item_unlink</c>.</summary>
    public void Unlink(CacheItem item)
    {
        if (item.LruNode is null)
        {
            return;
        }

        _items.Remove(item.Key);
        _lru.Remove(item.LruNode);
        item.LruNode = null;
        _usedBytes -= item.Size;
    }

    /// <summary><c>item_replace</c>: unlink the old, link the new.</summary>
    public void Replace(CacheItem old, CacheItem replacement)
    {
        Unlink(old);
        Link(replacement);
    }

    /// <summary>A value changed in place (arithmetic): the memory it counts may change.</summary>
    public void Resize(CacheItem item, byte[] value)
    {
        _usedBytes -= item.Size;
        item.Value = value;
        _usedBytes += item.Size;
    }

    /// <summary><c>flush_all [delay]</c>, as <c>process_flush_all_command</c> with CAS enabled.</summary>
    public void FlushAll(long delay)
    {
        FlushCommands++;
        var newOldest = delay > 0 ? RealTime(delay) : CurrentTime;
        _oldestLive = newOldest - 1;
        if (_oldestLive <= CurrentTime)
        {
            _oldestCas = NextCas();
        }
    }

    /// <summary>Evicts the <paramref name="count"/> least recently used items (memory pressure from elsewhere).</summary>
    public int EvictLeastRecentlyUsed(int count)
    {
        var evicted = 0;
        while (evicted < count && _lru.Last is { } last)
        {
            Unlink(last.Value);
            Evictions++;
            evicted++;
        }

        return evicted;
    }

    /// <summary>The keys held, most recently used first (for traces and tests).</summary>
    public IEnumerable<string> Keys => _lru.Select(i => i.Key);

    private bool IsFlushed(CacheItem item)
    {
        if (_oldestLive == 0 || _oldestLive > CurrentTime)
        {
            return false;
        }

        return item.Time <= _oldestLive || (_oldestCas != 0 && item.Cas != 0 && item.Cas < _oldestCas);
    }

    private void Touch(CacheItem item)
    {
        if (item.LruNode is { } node && node.Previous is not null)
        {
            _lru.Remove(node);
            _lru.AddFirst(node);
        }
    }

    private void EvictOverLimit(CacheItem keep)
    {
        while (_usedBytes > MemoryLimit && _lru.Last is { } last && !ReferenceEquals(last.Value, keep))
        {
            Unlink(last.Value);
            Evictions++;
        }
    }
}
