using System.Collections.Concurrent;
using System.Globalization;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;

namespace Ballast.SharedView.Etcd;

/// <summary>
/// Keeps the shared view in etcd: one key per server record under <c>ballast/&lt;pool&gt;/view/</c>, locks as keys
/// under <c>ballast/&lt;pool&gt;/lock/</c> bound to etcd leases. etcd is itself the quorum (Raft), so the store has one
/// replica and one linearizable answer counts: a refresh is one range read whatever the pool's size. A record's
/// version is its mod revision, so compare-and-swap is a transaction on it, and a watch on the prefix pushes every
/// change to this frontend the moment etcd commits it (<see cref="Changed"/>). Ballast's protocol does the rest
/// (which records count, fencing, readmission, the recovery of lost records); etcd's records survive flushes,
/// restarts and evictions of memcached, but a record can still be missing (a new pool, etcd's data deleted) or older
/// than one a frontend has seen (etcd restored from a backup), and the protocol then fails closed.
/// </summary>
internal sealed class EtcdViewStore : ISharedViewStore
{
    private readonly SharedViewStoreContext _context;
    private readonly EtcdCredentials? _credentials;
    private readonly GrpcChannel[] _channels;
    private readonly CallInvoker[] _invokers;
    private readonly SemaphoreSlim _authenticating = new(1, 1);
    private readonly ConcurrentDictionary<string, long> _heldLocks = new(StringComparer.Ordinal);
    private volatile string? _token;
    private readonly string _prefix;
    private readonly string _lockPrefix;
    private readonly ByteString _rangeStart;
    private readonly ByteString _rangeEnd;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _watch;
    private int _current;

    /// <summary>Connects to the endpoints (lazily) and starts the watch.</summary>
    public EtcdViewStore(SharedViewStoreContext context, IReadOnlyList<string> endpoints, EtcdCredentials? credentials)
    {
        _context = context;
        _credentials = credentials;
        _channels = endpoints.Select(e => GrpcChannel.ForAddress(e)).ToArray();
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
        _lockPrefix = $"ballast/{context.PoolName}/lock/";
        _rangeStart = ByteString.CopyFromUtf8(_prefix);
        _rangeEnd = ByteString.CopyFromUtf8($"ballast/{context.PoolName}/view0"); // '0' follows '/': the prefix's range end
        _watch = Task.Run(() => WatchAsync(_stop.Token));
    }

    /// <inheritdoc />
    public event Action? Changed;

    /// <summary>One replica: etcd's own quorum stands behind each answer.</summary>
    public int ReplicaCount => 1;

    /// <summary>
    /// A call may take up to the bound: a read that answers late still renews the lease from when it started, and a
    /// shorter deadline made reads fail on a saturated machine (the lease then lapsed and every read missed).
    /// </summary>
    private TimeSpan CallTimeout => _context.Bound;

    /// <inheritdoc />
    public async Task<SharedViewRecord?[]?> ReadAllAsync(int replica, int recordCount, CancellationToken cancellationToken)
    {
        RangeResponse range;
        try
        {
            range = await CallAsync((kv, deadline) => kv.RangeAsync(new RangeRequest { Key = _rangeStart, RangeEnd = _rangeEnd }, deadline: deadline, cancellationToken: cancellationToken).ResponseAsync).ConfigureAwait(false);
        }
        catch (RpcException)
        {
            return null;
        }

        var records = new SharedViewRecord?[recordCount];
        foreach (var kv in range.Kvs)
        {
            if (IndexOf(kv.Key, recordCount) is { } index)
            {
                records[index] = new SharedViewRecord(kv.Value.Memory, kv.ModRevision);
            }
        }

        return records;
    }

    /// <inheritdoc />
    public async Task<SharedViewReplicaAnswer> ReadAsync(int replica, int index, CancellationToken cancellationToken)
    {
        try
        {
            var range = await CallAsync((kv, deadline) => kv.RangeAsync(new RangeRequest { Key = KeyOf(index) }, deadline: deadline, cancellationToken: cancellationToken).ResponseAsync).ConfigureAwait(false);
            return range.Kvs.Count == 0
                ? new SharedViewReplicaAnswer(true, null)
                : new SharedViewReplicaAnswer(true, new SharedViewRecord(range.Kvs[0].Value.Memory, range.Kvs[0].ModRevision));
        }
        catch (RpcException)
        {
            return SharedViewReplicaAnswer.NoAnswer;
        }
    }

    /// <summary>Writes a record only if its mod revision is still <paramref name="expectedVersion"/> (0: no record): etcd's compare-and-swap.</summary>
    public async Task<bool?> CompareAndSwapAsync(int replica, int index, ReadOnlyMemory<byte> value, long expectedVersion, CancellationToken cancellationToken)
    {
        var key = KeyOf(index);
        var txn = new TxnRequest();
        txn.Compare.Add(new Compare { Key = key, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = expectedVersion });
        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = key, Value = ByteString.CopyFrom(value.Span) } });
        try
        {
            var response = await CallAsync((kv, deadline) => kv.TxnAsync(txn, deadline: deadline, cancellationToken: cancellationToken).ResponseAsync).ConfigureAwait(false);
            return response.Succeeded;
        }
        catch (RpcException)
        {
            return null;
        }
    }

    /// <summary>
    /// A lock in etcd: its key created only if it does not exist, naming its owner, bound to a new lease of the
    /// lock's time to live (so a frontend that dies holding it loses it then). Taken also when the key already names
    /// this owner (an earlier answer was lost). No flush can wipe it.
    /// </summary>
    public async Task<bool?> TryTakeLockAsync(int replica, string name, string owner, TimeSpan timeToLive, CancellationToken cancellationToken)
    {
        try
        {
            var key = ByteString.CopyFromUtf8(_lockPrefix + name);
            var ttl = (long)Math.Max(1, Math.Ceiling(timeToLive.TotalSeconds));
            var lease = (await CallAsync((_, deadline) => new Lease.LeaseClient(Channel).LeaseGrantAsync(new LeaseGrantRequest { TTL = ttl }, deadline: deadline, cancellationToken: cancellationToken).ResponseAsync).ConfigureAwait(false)).ID;
            var ownerBytes = ByteString.CopyFromUtf8(owner);
            var take = new TxnRequest();
            take.Compare.Add(new Compare { Key = key, Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 });
            take.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = key, Value = ownerBytes, Lease = lease } });
            take.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = key } });
            var taken = await CallAsync((kv, deadline) => kv.TxnAsync(take, deadline: deadline, cancellationToken: cancellationToken).ResponseAsync).ConfigureAwait(false);
            var holder = taken.Succeeded || taken.Responses.Count == 0 ? null : taken.Responses[0].ResponseRange?.Kvs.FirstOrDefault();
            if (taken.Succeeded)
            {
                _heldLocks[name] = lease;
                return true;
            }

            await RevokeAsync(lease).ConfigureAwait(false);
            return holder is not null && holder.Value == ownerBytes;
        }
        catch (RpcException)
        {
            return null;
        }
    }

    /// <summary>Nothing to do: no flush reaches etcd.</summary>
    public Task RenewLockAsync(int replica, string name, string owner, TimeSpan timeToLive, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Revokes the lease of a lock this store took, which deletes the lock with it.</summary>
    public async Task ReleaseLockAsync(int replica, string name, string owner, CancellationToken cancellationToken)
    {
        if (_heldLocks.TryRemove(name, out var lease))
        {
            await RevokeAsync(lease).ConfigureAwait(false);
        }
    }

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

    private async Task RevokeAsync(long lease)
    {
        try
        {
            await CallAsync((_, deadline) => new Lease.LeaseClient(Channel).LeaseRevokeAsync(new LeaseRevokeRequest { ID = lease }, deadline: deadline, cancellationToken: CancellationToken.None).ResponseAsync).ConfigureAwait(false);
        }
        catch (RpcException)
        {
            // The lease's time to live ends it.
        }
    }

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
            catch (RpcException error) when (!reauthenticated && _credentials is not null && error.StatusCode == StatusCode.Unauthenticated)
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
        if (_credentials is not { } credentials || (_token is not null && _token != rejected))
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

    private int? IndexOf(ByteString key, int recordCount)
    {
        var text = key.ToStringUtf8();
        return text.StartsWith(_prefix, StringComparison.Ordinal)
            && int.TryParse(text.AsSpan(_prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            && index < recordCount
                ? index
                : null;
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
                await Task.Delay(CallTimeout, _context.TimeProvider, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            Interlocked.Increment(ref _current);
        }
    }
}
