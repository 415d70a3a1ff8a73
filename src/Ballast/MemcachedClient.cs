using System.Text;
using Ballast.Coordination;
using Ballast.Diagnostics;
using Ballast.Failover;
using Ballast.Pool;
using Ballast.Protocol;
using Ballast.Protocol.Commands;
using Ballast.SharedView;

namespace Ballast;

/// <summary>
/// A memcached client for a pool of servers: the entry point of Ballast. Thread-safe; create one per pool and share
/// it, since its pipelined connections are what make it fast.
/// </summary>
/// <remarks>
/// A request travels: <see cref="MemcachedClient"/> → failover strategy (which server, per the pool's
/// <see cref="FailoverPolicy"/>) → server node (fail fast when down) → pipelined connection (pending buffer, then the
/// in-flight queue) → the socket, and back through the connection's read loop. When a server fails, stalls or is cut
/// off, reads of its keys are misses and writes are confirmed or the server is fenced: a failure costs a database
/// read, never a stale value. See <c>docs/integrity.md</c> for each policy's guarantee.
/// Split by concern: <c>MemcachedClient.Reads.cs</c>, <c>MemcachedClient.Writes.cs</c>, <c>MemcachedClient.Servers.cs</c>.
/// </remarks>
public sealed partial class MemcachedClient : IMemcachedClient, IServerEvents, IObservedPool
{
    private readonly PoolCoordinator _pool;
    private readonly FailoverStrategy _strategy;
    private readonly MemcachedClientOptions _options;
    private readonly TimeProvider _time;
    private readonly string? _keyPrefix;
    private int _disposed;
    private long _backgroundFailures;
    private int _newPoolFlushReported;

    /// <summary>Creates a client. Connections open lazily, on first use of each server.</summary>
    /// <param name="options">The pool and its settings; copied and validated here, so later edits have no effect on this client.</param>
    /// <param name="timeProvider">The clock for timeouts, probes and the shared view's lease. Default <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public MemcachedClient(MemcachedClientOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);

        // Copied, then validated: later edits to the caller's object change nothing here.
        options = options.Snapshot();
        options.Validate();
        _options = options;
        _keyPrefix = string.IsNullOrEmpty(options.KeyPrefix) ? null : options.KeyPrefix;
        _time = timeProvider ?? TimeProvider.System;
        _pool = new PoolCoordinator(options, _time, this);
        _strategy = FailoverStrategy.Create(new FailoverContext(_pool.Servers, _pool.Access, _pool.Invalidations, options, _time));
        if (options.Runtime.ObservedByGauges)
        {
            Instruments.Register(this);
        }
    }

    /// <summary>Creates a client for a comma-separated server list, <c>host:port[:weight],...</c>, with default settings.</summary>
    public MemcachedClient(string servers)
        : this(MemcachedClientOptions.ForServers(servers))
    {
    }

    /// <summary>A server was marked down (PECL's <c>setFailureCallback</c>). Raised on a background thread.</summary>
    public event EventHandler<ServerFailedEventArgs>? ServerFailed;

    /// <summary>
    /// A server was readmitted after its flush (the counterpart of <see cref="ServerFailed"/>). Raised on a background
    /// thread. Also raised, with <see cref="ServerRecoveredEventArgs.Downtime"/> zero, when this frontend finds in the
    /// shared view that a server it still had up was fenced, flushed and readmitted meanwhile (it was cut off for the
    /// whole outage): the server is empty either way, and a counter on it has started again.
    /// </summary>
    public event EventHandler<ServerRecoveredEventArgs>? ServerRecovered;

    /// <summary>
    /// This frontend flushed a server (<c>flush_all</c> answered), whatever the reason: a failback it won, a lost
    /// record, a brand-new pool, the application's own flush. Raised on a background thread.
    /// </summary>
    public event EventHandler<ServerFlushedEventArgs>? ServerFlushed;

    /// <summary>The pool's failover policy.</summary>
    public FailoverPolicy Policy => _options.FailoverPolicy;

    /// <summary>The name this frontend's pool shares with the others (the shared view's key prefix).</summary>
    public string PoolName => _pool.Identity.PoolName;

    /// <summary>The main servers, in configuration order.</summary>
    public IReadOnlyList<ServerEndPoint> Servers => _options.Servers.ToArray();

    /// <summary>How many pieces of background work (view reads, recovery steps, invalidations whose callers stopped waiting) have failed.</summary>
    internal long BackgroundFailures => Interlocked.Read(ref _backgroundFailures);

    /// <summary>
    /// True while this frontend's copy of the shared view is fresh enough to serve reads: read from a quorum within
    /// three quarters of the bound (see <see cref="SharedViewOptions.Bound"/>). While it is not, an operation waits
    /// (at most an operation timeout) for the view read that renews it, unless the last view read reached no quorum;
    /// a read that still finds it stale misses.
    /// </summary>
    public bool IsSharedViewFresh => _pool.View.IsLeaseFreshForReads;

    /// <summary>Completes when the first read of the shared view has ended (operations wait for it, up to their timeout).</summary>
    internal Task FirstViewRead => _pool.Ready;

    /// <summary>True when operations go ahead without waiting for a view read (see <see cref="EnsureReadyAsync"/>).</summary>
    internal bool IsViewCurrent => _pool.IsViewCurrent;

    /// <summary>
    /// True until the client's first read of the shared view has ended (it may recover a brand-new pool's records
    /// first): until then operations wait for it, at most an operation timeout each. A health check reports this as
    /// starting, not as a stale view.
    /// </summary>
    public bool IsStarting => !_pool.Ready.IsCompleted;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Instruments.Unregister(this);
            await _pool.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    void IServerEvents.OnServerFailed(ServerFailedEventArgs args)
    {
        RecordFence(args);
        Raise(ServerFailed, args);
    }

    void IServerEvents.OnServerRecovered(ServerRecoveredEventArgs args)
    {
        RecordFailback(args);
        Raise(ServerRecovered, args);
    }

    void IServerEvents.OnServerFlushed(ServerFlushedEventArgs args)
    {
        RecordFlush(args);
        Raise(ServerFlushed, args);
    }

    void IServerEvents.OnBackgroundFailure(string operation, Exception error)
    {
        Interlocked.Increment(ref _backgroundFailures);
        _options.Logger.BackgroundWorkFailed(error, operation);
    }

    private void Raise<T>(EventHandler<T>? handler, T args)
    {
        if (handler is null)
        {
            return;
        }

        foreach (var subscriber in handler.GetInvocationList().Cast<EventHandler<T>>())
        {
            try
            {
                subscriber(this, args);
            }
            catch (Exception error)
            {
                // A subscriber's failure must not stop failure handling, nor the other subscribers.
                _options.Logger.EventSubscriberFailed(error, typeof(T).Name);
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="operation"/> once the pool has read the shared view for the first time, and once a lease
    /// that lapsed only because its renewing read is late has been renewed (see <see cref="EnsureReadyAsync"/>).
    /// </summary>
    private ValueTask<T> WhenReady<T>(Func<ValueTask<T>> operation, CancellationToken cancellationToken)
    {
        return _pool.IsViewCurrent ? operation() : Slow();

        async ValueTask<T> Slow()
        {
            await EnsureReadyAsync(cancellationToken).ConfigureAwait(false);
            return await operation().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Waits (at most an operation timeout each) for the pool's first read of the shared view, then, when the lease has
    /// lapsed while the view is within reach, for the read that renews it: the periodic read runs every quarter of the
    /// bound, and on a loaded machine (a starved thread pool, a long pause) it may start or end late enough for the
    /// lease to lapse. Reads and stores would then be refused for nothing; they wait for that read instead, and are
    /// allowed or refused on the lease it grants. Invalidations do not wait for it (they land or fence either way).
    /// </summary>
    private async ValueTask EnsureReadyAsync(CancellationToken cancellationToken)
    {
        await EnsureFirstViewReadAsync(cancellationToken).ConfigureAwait(false);
        await _pool.RenewLapsedLeaseAsync(_options.OperationTimeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Waits (at most an operation timeout) for the pool's first read of the shared view.</summary>
    private async ValueTask EnsureFirstViewReadAsync(CancellationToken cancellationToken)
    {
        if (_pool.Ready.IsCompleted)
        {
            return;
        }

        try
        {
            await _pool.Ready.WaitAsync(_options.OperationTimeout, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // The first view read is slow (a stalled server); go on without it: the lease is not fresh, so reads miss
            // and writes are fenced, which is safe.
            _options.Logger.FirstViewReadTimedOut(_pool.Identity.PoolName);
        }

        // A first view read that failed on TLS or a login would leave the lease stale and every read a miss. The view
        // read gives up on stragglers after a fraction of the bound, while a handshake may take longer: let the
        // connection attempts end before deciding.
        await _pool.SettleFirstConnectsAsync().ConfigureAwait(false);
        _pool.ThrowIfViewUnreadableForMisconfiguration();
    }

    /// <summary>
    /// The key as it goes to the servers (<see cref="MemcachedClientOptions.KeyPrefix"/> and <paramref name="key"/>):
    /// valid, not reserved, and its server not failing its TLS or login.
    /// </summary>
    private CacheKey Key(string key)
    {
        var cacheKey = ValidKey(key);
        _pool.Servers.ThrowIfMisconfigured(cacheKey);
        return cacheKey;
    }

    /// <summary>A key (with the prefix) checked by the rules alone (placement needs no server).</summary>
    private CacheKey ValidKey(string key)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        ArgumentNullException.ThrowIfNull(key);
        if (_keyPrefix is not null && key.Length == 0)
        {
            // The prefix alone would be a valid key; an empty key is still the caller's mistake.
            throw new InvalidCacheKeyException(key, "a key must be at least 1 byte long");
        }

        var full = _keyPrefix is null ? key : string.Concat(_keyPrefix, key);
        var cacheKey = CacheKey.Create(full, _options.InvalidKeyHandling);
        Protocol.ReservedKeys.ThrowIfReserved(full);
        return cacheKey;
    }

    /// <summary>
    /// Converts a TTL as memcached wants it: seconds, or a Unix time past 30 days (protocol.txt), capped at the latest
    /// Unix time memcached can store; 0 for none.
    /// </summary>
    private long Seconds(TimeSpan? ttl, string key)
    {
        if (ttl is not { } span || span == TimeSpan.Zero)
        {
            return 0;
        }

        if (span < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ttl), span, $"Key '{key}': a time to live must not be negative.");
        }

        var seconds = (long)Math.Ceiling(span.TotalSeconds);
        const long ThirtyDays = 60 * 60 * 24 * 30;
        if (seconds <= ThirtyDays)
        {
            return seconds;
        }

        // memcached reads an expiry as a signed 32-bit number: a Unix time past 2038-01-19 03:14:07 UTC wraps to a
        // negative one, and the item is stored already expired while the answer says stored. The latest moment it can
        // hold is sent instead: the item expires no later than asked, which a cache may always do.
        var unixTime = _time.GetUtcNow().ToUnixTimeSeconds() + Math.Min(seconds, int.MaxValue);
        return Math.Min(unixTime, int.MaxValue);
    }

    private void CheckSize(CacheKey key, int length)
    {
        var limit = _options.MaxItemSize;
        if (length + key.ByteCount + CacheValueTooLargeException.ItemOverhead > limit)
        {
            Span<byte> utf8 = stackalloc byte[CacheKey.MaxLength];
            var server = _pool.Servers.Primary(key.GetUtf8(utf8)).EndPoint;
            throw new CacheValueTooLargeException(key.Text, server, length, limit);
        }
    }

    private static byte[] Utf8(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return Encoding.UTF8.GetBytes(value);
    }
}
