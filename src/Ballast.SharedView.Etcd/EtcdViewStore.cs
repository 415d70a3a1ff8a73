using System.Globalization;
using System.Text;
using Ballast.Pool;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;

namespace Ballast.SharedView.Etcd;

/// <summary>
/// Keeps the shared view in etcd: one key per server record under <c>ballast/&lt;pool&gt;/view/</c>, in the same text
/// as the memcached store. etcd is itself the quorum (Raft), so one linearizable answer counts: a refresh is one range
/// read whatever the pool's size. Fences and readmissions are transactions on the record's mod revision (the
/// compare-and-swap of the memcached store), and a watch on the prefix pushes every change to this frontend the
/// moment etcd commits it (<see cref="Changed"/>). The lease is as in the memcached store: reads of the cache stop
/// when no range read has succeeded within the bound, so a frontend cut off from etcd serves misses.
/// </summary>
/// <remarks>
/// Records survive flushes, restarts and evictions of memcached. A record can still be missing (a brand-new pool, or
/// etcd's data deleted) or older than one this frontend has seen (etcd restored from a backup): such a server is
/// reported lost, and <see cref="RecoverLostAsync"/> flushes it under an etcd lock before anyone reads it, as with
/// memcached.
/// </remarks>
internal sealed class EtcdViewStore : IViewStore
{
    private readonly ViewStoreContext _context;
    private readonly GrpcChannel[] _channels;
    private readonly CallInvoker[] _invokers;
    private readonly SemaphoreSlim _authenticating = new(1, 1);
    private volatile string? _token;
    private readonly string _prefix;
    private readonly ByteString _rangeStart;
    private readonly ByteString _rangeEnd;
    private readonly ByteString _lockKey;
    private readonly ViewRecordSeal _seal;
    private readonly EpochWatermark _highestSeen;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _watch;
    private int _current;

    /// <summary>Connects to the endpoints (lazily) and starts the watch.</summary>
    public EtcdViewStore(ViewStoreContext context)
    {
        _context = context;
        _seal = context.Seal ?? ViewRecordSeal.None;
        _channels = context.Endpoints.Select(e => GrpcChannel.ForAddress(e)).ToArray();
        // With credentials, every call carries the token etcd gave for them (metadata "token", as etcd's own clients send it).
        _invokers = _channels.Select(c => c.Intercept(metadata =>
        {
            if (_token is { } token)
            {
                metadata.Add("token", token);
            }

            return metadata;
        })).ToArray();
        _prefix = $"ballast/{context.PoolName}/view/";
        _rangeStart = ByteString.CopyFromUtf8(_prefix);
        _rangeEnd = ByteString.CopyFromUtf8($"ballast/{context.PoolName}/view0"); // '0' follows '/': the prefix's range end
        _lockKey = ByteString.CopyFromUtf8($"ballast/{context.PoolName}/recovery");
        _highestSeen = new EpochWatermark(context.Servers.Count);
        _watch = Task.Run(() => WatchAsync(_stop.Token));
    }

    /// <inheritdoc />
    public event Action? Changed;

    /// <summary>One linearizable answer from etcd is a quorum: etcd's own.</summary>
    public int ReadQuorum => 1;

    /// <inheritdoc />
    public int WriteQuorum => 1;

    /// <summary>
    /// A call may take up to the bound: a read that answers late still renews the lease from when it started, and a
    /// shorter deadline made reads fail on a saturated machine (the lease then lapsed and every read missed).
    /// </summary>
    private TimeSpan CallTimeout => _context.Bound;

    /// <inheritdoc />
    public async Task<ViewReadResult> ReadAsync(TimeSpan straggler, TimeProvider time, CancellationToken cancellationToken)
    {
        var entries = new ViewEntry[_context.Servers.Count];
        Array.Fill(entries, ViewEntry.Initial);

        // Judged against the epochs seen when the read began: a fence of this frontend's that commits while the read
        // is in flight must not make the read's (older, correct) records look rolled back (see MemcachedViewStore).
        var seenAtStart = _highestSeen.Snapshot();

        RangeResponse range;
        try
        {
            range = await CallAsync((kv, deadline) => kv.RangeAsync(new RangeRequest { Key = _rangeStart, RangeEnd = _rangeEnd }, deadline: deadline, cancellationToken: cancellationToken).ResponseAsync).ConfigureAwait(false);
        }
        catch (RpcException)
        {
            return new ViewReadResult(entries, 0, false);
        }

        var found = new ViewEntry?[entries.Length];
        foreach (var kv in range.Kvs)
        {
            if (IndexOf(kv.Key) is { } index && _seal.TryDecode(kv.Key.ToStringUtf8(), kv.Value.Span, out var entry))
            {
                found[index] = entry;
            }
        }

        var now = _context.Time.GetUtcNow().ToUnixTimeMilliseconds();
        for (var i = 0; i < entries.Length; i++)
        {
            if (found[i] is { } record && record.Epoch >= seenAtStart[i])
            {
                entries[i] = record;
                _highestSeen.Raise(i, record.Epoch);
            }
            else
            {
                entries[i] = ViewEntry.Lost(Math.Max(seenAtStart[i], found[i]?.Epoch ?? 0), now);
            }
        }

        return new ViewReadResult(entries, 1, true);
    }

    /// <inheritdoc />
    public async Task<PublishResult> FenceAsync(int index, ViewEntry proposed, TimeSpan straggler, TimeProvider time, CancellationToken cancellationToken)
    {
        try
        {
            for (var attempt = 0; attempt < 5; attempt++)
            {
                var (existing, revision) = await GetAsync(index, cancellationToken).ConfigureAwait(false);
                var target = proposed with { IsLost = false };
                if (existing is { } record)
                {
                    if (!record.IsDown && record.Epoch >= proposed.Epoch)
                    {
                        return new PublishResult(0, record);
                    }

                    if (record.IsDown && record.Epoch >= proposed.Epoch)
                    {
                        // Touch it: a new mod revision, so a failback that read it before cannot readmit over it.
                        target = record with { ChangedAtUnixMs = proposed.ChangedAtUnixMs, Writer = proposed.Writer };
                    }
                }

                if (await SwapAsync(index, target, revision, cancellationToken).ConfigureAwait(false))
                {
                    _highestSeen.Raise(index, target.Epoch);
                    return new PublishResult(1, null);
                }

                // Someone changed the record since it was read, so after this fence began: if it now says "down" at
                // this epoch or later, that change fences as well as this one would (a failback's snapshot from
                // before it no longer matches), as in the memcached store. Many deletes of one down server's keys
                // touch its record at once; this is what keeps them from exhausting their attempts.
                if ((await GetAsync(index, cancellationToken).ConfigureAwait(false)).Entry is { IsDown: true } now && now.Epoch >= proposed.Epoch)
                {
                    _highestSeen.Raise(index, now.Epoch);
                    return new PublishResult(1, null);
                }
            }
        }
        catch (RpcException)
        {
            // No answer from etcd: not published; the pool retries.
        }

        return new PublishResult(0, null);
    }

    /// <inheritdoc />
    public async Task<RecordSnapshot[]> SnapshotAsync(int index, TimeSpan straggler, TimeProvider time, CancellationToken cancellationToken)
    {
        try
        {
            var (entry, revision) = await GetAsync(index, cancellationToken).ConfigureAwait(false);
            return [new RecordSnapshot(null, entry, (ulong)revision)];
        }
        catch (RpcException)
        {
            return [];
        }
    }

    /// <inheritdoc />
    public async Task<int> ReadmitAsync(int index, ViewEntry up, RecordSnapshot[] before, ServerNode flushed, CancellationToken cancellationToken)
    {
        try
        {
            if (before.Length == 1 && await SwapAsync(index, up, (long)before[0].Cas, cancellationToken).ConfigureAwait(false))
            {
                _highestSeen.Raise(index, up.Epoch);
                return 1;
            }
        }
        catch (RpcException)
        {
        }

        return 0;
    }

    /// <inheritdoc />
    public async Task<LostRecovery> RecoverLostAsync(IReadOnlyList<int> lost, CancellationToken cancellationToken)
    {
        long lease = 0;
        try
        {
            bool taken;
            (taken, lease) = await TakeLeasedKeyAsync(_lockKey, cancellationToken).ConfigureAwait(false);
            if (!taken)
            {
                return LostRecovery.HeldElsewhere;
            }

            var read = await ReadAsync(CallTimeout, _context.Time, cancellationToken).ConfigureAwait(false);

            // Fence before the flush, then wait the bound, as the memcached store does: frontends that have not read
            // the loss yet may still use the server, and a flush under them restarts its counters.
            var fencedAt = _context.Time.GetUtcNow().ToUnixTimeMilliseconds();
            var fenced = new List<int>();
            var candidates = lost.Where(i => read.IsQuorum && read.Entries[i].AwaitsRecovery).ToArray();
            var someoneMayUseThem = candidates.Any(i => !read.Entries[i].IsUnknownToEveryone);
            foreach (var i in candidates)
            {
                if (read.Entries[i].IsUnknownToEveryone)
                {
                    // Nobody was ever told it is up: nothing to fence.
                    fenced.Add(i);
                    continue;
                }

                var fence = new ViewEntry(read.Entries[i].Epoch, IsDown: true, fencedAt, ViewEntry.LostWriter);
                if ((await FenceAsync(i, fence, CallTimeout, _context.Time, cancellationToken).ConfigureAwait(false)).Holding >= WriteQuorum)
                {
                    fenced.Add(i);
                }
            }

            if (fenced.Count == 0)
            {
                return LostRecovery.None;
            }

            if (someoneMayUseThem)
            {
                await Task.Delay(_context.Bound, _context.Time, cancellationToken).ConfigureAwait(false);
            }
            var snapshots = new List<(int Index, long Revision)>();
            foreach (var i in fenced)
            {
                snapshots.Add((i, (await GetAsync(i, cancellationToken).ConfigureAwait(false)).Revision));
            }

            var recovered = new List<int>();
            var now = _context.Time.GetUtcNow().ToUnixTimeMilliseconds();
            foreach (var (i, revision) in snapshots)
            {
                if (!await EpochWatermark.FlushAsync(_context.Servers[i], cancellationToken).ConfigureAwait(false))
                {
                    continue;
                }

                var up = _highestSeen.Recovered(i, now, _context.FrontendId);
                if (await SwapAsync(i, up, revision, cancellationToken).ConfigureAwait(false))
                {
                    _highestSeen.Raise(i, up.Epoch);
                    recovered.Add(i);
                }
            }

            return new LostRecovery(recovered, false);
        }
        catch (RpcException)
        {
            return LostRecovery.None;
        }
        finally
        {
            try
            {
                // Revoking the lease deletes the lock with it.
                if (lease != 0)
                {
                    await CallAsync((_, deadline) => new Lease.LeaseClient(Channel).LeaseRevokeAsync(new LeaseRevokeRequest { ID = lease }, deadline: deadline, cancellationToken: CancellationToken.None).ResponseAsync).ConfigureAwait(false);
                }
            }
            catch (RpcException)
            {
                // The lease's time to live ends it.
            }
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// A key <c>ballast/&lt;pool&gt;/failback/&lt;n&gt;/&lt;epoch&gt;</c> created only if absent, bound to a lease of the
    /// lock's time to live, and kept until the lease ends (a frontend that probes late finds it, and the readmitted
    /// record). No flush can wipe it.
    /// </remarks>
    public async Task<bool?> TryTakeFailbackLockAsync(int index, long epoch, CancellationToken cancellationToken)
    {
        var key = ByteString.CopyFromUtf8($"ballast/{_context.PoolName}/failback/{index.ToString(CultureInfo.InvariantCulture)}/{epoch.ToString(CultureInfo.InvariantCulture)}");
        try
        {
            return (await TakeLeasedKeyAsync(key, cancellationToken).ConfigureAwait(false)).Taken;
        }
        catch (RpcException)
        {
            return null;
        }
    }

    /// <summary>
    /// A lock in etcd: <paramref name="key"/> created only if it does not exist, naming this frontend, bound to a new
    /// lease of the lock's time to live (so a frontend that dies holding it loses it then). Taken also when the key
    /// already names this frontend (an earlier answer was lost). Returns the lease, for a holder that releases early.
    /// </summary>
    /// <exception cref="RpcException">etcd did not answer.</exception>
    private async Task<(bool Taken, long Lease)> TakeLeasedKeyAsync(ByteString key, CancellationToken cancellationToken)
    {
        var ttl = (long)Math.Max(1, Math.Ceiling(_context.LockTimeToLive.TotalSeconds));
        var lease = (await CallAsync((_, deadline) => new Lease.LeaseClient(Channel).LeaseGrantAsync(new LeaseGrantRequest { TTL = ttl }, deadline: deadline, cancellationToken: cancellationToken).ResponseAsync).ConfigureAwait(false)).ID;
        var owner = ByteString.CopyFrom(_seal.Seal(key.ToStringUtf8(), Encoding.UTF8.GetBytes(_context.FrontendId)));
        var take = new TxnRequest();
        take.Compare.Add(new Compare { Key = key, Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 });
        take.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = key, Value = owner, Lease = lease } });
        take.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = key } });
        var taken = await CallAsync((kv, deadline) => kv.TxnAsync(take, deadline: deadline, cancellationToken: cancellationToken).ResponseAsync).ConfigureAwait(false);
        var holder = taken.Succeeded || taken.Responses.Count == 0 ? null : taken.Responses[0].ResponseRange?.Kvs.FirstOrDefault();
        return (taken.Succeeded || (holder is not null && holder.Value == owner), lease);
    }

    /// <inheritdoc />
    public Task RenewFailbackLockAsync(int index, long epoch, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _watch.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        foreach (var channel in _channels)
        {
            channel.Dispose();
        }

        _stop.Dispose();
        _authenticating.Dispose();
    }

    private CallInvoker Channel => _invokers[Volatile.Read(ref _current) % _invokers.Length];

    /// <summary>
    /// One call to etcd with the call timeout; on no answer, the next endpoint is tried, once each. With credentials,
    /// a token is fetched first, and fetched again once when etcd says it is no longer valid (tokens expire).
    /// </summary>
    private async Task<T> CallAsync<T>(Func<KV.KVClient, DateTime, Task<T>> call)
    {
        var reauthenticated = false;
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await EnsureTokenAsync(null).ConfigureAwait(false);
                return await call(new KV.KVClient(Channel), DateTime.UtcNow + CallTimeout).ConfigureAwait(false);
            }
            catch (RpcException error) when (attempt + 1 < _channels.Length && error.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
            {
                Interlocked.Increment(ref _current);
            }
            catch (RpcException error) when (!reauthenticated && _context.Credentials is not null && error.StatusCode == StatusCode.Unauthenticated)
            {
                reauthenticated = true;
                await EnsureTokenAsync(_token).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Fetches a token when credentials are set and there is none yet, or when <paramref name="rejected"/> (a token
    /// etcd refused) is still the current one. Wrong credentials throw etcd's <see cref="RpcException"/>, which every
    /// caller treats as no answer: the lease lapses and this frontend serves misses (fail closed).
    /// </summary>
    private async Task EnsureTokenAsync(string? rejected)
    {
        if (_context.Credentials is not { } credentials || (_token is not null && _token != rejected))
        {
            return;
        }

        await _authenticating.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_token is null || _token == rejected)
            {
                var channel = _channels[Volatile.Read(ref _current) % _channels.Length];
                var answer = await new Auth.AuthClient(channel).AuthenticateAsync(new AuthenticateRequest { Name = credentials.UserName, Password = credentials.Password }, deadline: DateTime.UtcNow + CallTimeout).ResponseAsync.ConfigureAwait(false);
                _token = answer.Token;
            }
        }
        finally
        {
            _authenticating.Release();
        }
    }

    private ByteString KeyOf(int index) => ByteString.CopyFromUtf8(_prefix + index.ToString(CultureInfo.InvariantCulture));

    private int? IndexOf(ByteString key)
    {
        var text = key.ToStringUtf8();
        return text.StartsWith(_prefix, StringComparison.Ordinal)
            && int.TryParse(text.AsSpan(_prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            && index < _context.Servers.Count
                ? index
                : null;
    }

    private async Task<(ViewEntry? Entry, long Revision)> GetAsync(int index, CancellationToken cancellationToken)
    {
        var range = await CallAsync((kv, deadline) => kv.RangeAsync(new RangeRequest { Key = KeyOf(index) }, deadline: deadline, cancellationToken: cancellationToken).ResponseAsync).ConfigureAwait(false);
        if (range.Kvs.Count == 0)
        {
            return (null, 0);
        }

        var kv = range.Kvs[0];
        return (_seal.TryDecode(kv.Key.ToStringUtf8(), kv.Value.Span, out var entry) ? entry : null, kv.ModRevision);
    }

    /// <summary>Writes a record only if its mod revision is still <paramref name="revision"/> (0: no record): etcd's compare-and-swap.</summary>
    private async Task<bool> SwapAsync(int index, ViewEntry entry, long revision, CancellationToken cancellationToken)
    {
        var key = KeyOf(index);
        var txn = new TxnRequest();
        txn.Compare.Add(new Compare { Key = key, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = revision });
        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = key, Value = ByteString.CopyFrom(_seal.Encode(key.ToStringUtf8(), entry)) } });
        var response = await CallAsync((kv, deadline) => kv.TxnAsync(txn, deadline: deadline, cancellationToken: cancellationToken).ResponseAsync).ConfigureAwait(false);
        return response.Succeeded;
    }

    /// <summary>
    /// Watches the prefix and raises <see cref="Changed"/> on every event, so a fence reaches this frontend when etcd
    /// commits it. Reconnects after a pause when the stream breaks; stops with the store.
    /// </summary>
    private async Task WatchAsync(CancellationToken cancellationToken)
    {
        string? rejectedToken = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await EnsureTokenAsync(rejectedToken).ConfigureAwait(false);
                rejectedToken = null;
                using var call = new Watch.WatchClient(Channel).Watch(cancellationToken: cancellationToken);
                await call.RequestStream.WriteAsync(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = _rangeStart, RangeEnd = _rangeEnd } }, cancellationToken).ConfigureAwait(false);
                while (await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
                {
                    if (call.ResponseStream.Current.Events.Count > 0)
                    {
                        Changed?.Invoke();
                    }
                }
            }
            catch (RpcException error)
            {
                // Broken stream: the lease still bounds what this frontend reads; reconnect below (with a new token
                // when etcd refused this one).
                rejectedToken = error.StatusCode == StatusCode.Unauthenticated ? _token : null;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }

            try
            {
                await Task.Delay(CallTimeout, _context.Time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            Interlocked.Increment(ref _current);
        }
    }
}
