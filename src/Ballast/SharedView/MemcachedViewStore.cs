using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Ballast.Diagnostics;
using Ballast.Pool;
using Ballast.Protocol;
using Ballast.Protocol.Commands;

namespace Ballast.SharedView;

/// <summary>
/// The default store: the shared view's records on a few witness servers of the pool itself (3, or 5 in pools of 8
/// and more, chosen from the server list alike on every frontend), one key per server record
/// (<c>ballast:&lt;pool&gt;:view:&lt;n&gt;</c>), and locks as the seed's <c>add</c> of a key (<see cref="ViewLock"/>).
/// A refresh is one multi-get per witness whatever the pool's size. Fenced servers keep holding records: fencing
/// bars reads of cached data, not the view. memcached forgets (a flush, a restart, an eviction), which
/// <see cref="ViewProtocol"/> handles: this class is only storage.
/// </summary>
internal sealed class MemcachedViewStore : ISharedViewStore
{
    private readonly IReadOnlyList<ServerNode> _witnesses;
    private readonly string _keyPrefix;
    private readonly TimeProvider _time;
    private readonly CacheKey[] _keys;
    private readonly IReadOnlyList<ServerEndPoint> _records;
    private readonly ViewRecordSeal _seal;

    /// <param name="main">The main servers, from which witnesses are chosen.</param>
    /// <param name="records">The servers with a record (main then gutter), in view order.</param>
    /// <param name="poolName">The pool's name, the records' key prefix.</param>
    /// <param name="time">The clock of the locks' expiry.</param>
    /// <param name="seal">How lock values are sealed with the pool's secret (records are sealed by the protocol); none by default.</param>
    public MemcachedViewStore(IReadOnlyList<ServerNode> main, IReadOnlyList<ServerEndPoint> records, string poolName, TimeProvider time, ViewRecordSeal? seal = null)
    {
        _seal = seal ?? ViewRecordSeal.None;
        _witnesses = ChooseWitnesses(main);
        _keyPrefix = ReservedKeys.Prefix(poolName);
        _records = records;
        _keys = Enumerable.Range(0, records.Count).Select(i => CacheKey.Create($"{_keyPrefix}view:{i}", InvalidKeyHandling.Reject).About($"the shared view's record of server {records[i]}")).ToArray();
        _time = time;
    }

    /// <summary>Never raised: memcached cannot push changes, so the view is polled every quarter of the bound.</summary>
    public event Action? Changed
    {
        add { }
        remove { }
    }

    public int ReplicaCount => _witnesses.Count;

    /// <summary>The servers that hold the records, in replica order.</summary>
    public IReadOnlyList<ServerNode> Witnesses => _witnesses;

    /// <summary>
    /// The witnesses: every server of pools up to three, else 3 (5 from 8 servers on) chosen by the hash of their
    /// addresses, so every frontend with the same server list picks the same ones, and adding a server moves few.
    /// </summary>
    public static IReadOnlyList<ServerNode> ChooseWitnesses(IReadOnlyList<ServerNode> main)
    {
        var count = main.Count <= 3 ? main.Count : main.Count < 8 ? 3 : 5;
        return main
            .OrderBy(n => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(n.EndPoint.ToString()))), StringComparer.Ordinal)
            .Take(count)
            .OrderBy(n => n.Index)
            .ToArray();
    }

    public int? ServerHostingReplica(int replica) => _witnesses[replica].Index;

    public async Task<SharedViewRecord?[]?> ReadAllAsync(int replica, int recordCount, CancellationToken cancellationToken)
    {
        try
        {
            var results = await _witnesses[replica].ExecuteAsync(new MultiGetCommand(recordCount == _keys.Length ? _keys : _keys[..recordCount]), cancellationToken, evenIfDown: true).ConfigureAwait(false);
            var records = new SharedViewRecord?[results.Length];
            for (var i = 0; i < results.Length; i++)
            {
                if (results[i].Value is { } value)
                {
                    records[i] = new SharedViewRecord(value, (long)results[i].Cas);
                }
            }

            return records;
        }
        catch (MemcachedException error)
        {
            _witnesses[replica].Errors.Absorbed(AbsorbedError.ViewReplicaUnanswered, null, error);
            return null;
        }
    }

    public async Task<SharedViewReplicaAnswer> ReadAsync(int replica, int index, CancellationToken cancellationToken)
    {
        try
        {
            var current = await _witnesses[replica].ExecuteAsync(new GetCommand(RecordKey(index)), cancellationToken, evenIfDown: true).ConfigureAwait(false);
            return new SharedViewReplicaAnswer(true, current.Value is { } value ? new SharedViewRecord(value, (long)current.Cas) : null);
        }
        catch (MemcachedException error)
        {
            _witnesses[replica].Errors.Absorbed(AbsorbedError.ViewReplicaUnanswered, null, error);
            return SharedViewReplicaAnswer.NoAnswer;
        }
    }

    /// <summary>
    /// Writes a record on one witness only if it is still the one read with <paramref name="expectedVersion"/> (its CAS);
    /// 0 means no record was there, and the write then succeeds only if none has appeared since (<c>add</c>). Every
    /// change of a view record goes through here, so no writer can overwrite another's change unseen.
    /// </summary>
    public async Task<bool?> CompareAndSwapAsync(int replica, int index, ReadOnlyMemory<byte> value, long expectedVersion, CancellationToken cancellationToken)
    {
        var mode = expectedVersion == 0 ? StoreMode.Add : StoreMode.Set;
        try
        {
            var stored = await _witnesses[replica].ExecuteAsync(new StoreCommand(RecordKey(index), value, mode, 0, 0, (ulong)expectedVersion), cancellationToken, evenIfDown: true).ConfigureAwait(false);
            return stored.IsStored;
        }
        catch (MemcachedException error)
        {
            _witnesses[replica].Errors.Absorbed(AbsorbedError.ViewReplicaUnanswered, null, error);
            return null;
        }
    }

    public Task<bool?> TryTakeLockAsync(int replica, string name, string owner, TimeSpan timeToLive, CancellationToken cancellationToken)
        => ViewLock.TryTakeAsync(_witnesses[replica], LockKey(name), _seal, owner, timeToLive, _time, cancellationToken);

    public Task RenewLockAsync(int replica, string name, string owner, TimeSpan timeToLive, CancellationToken cancellationToken)
        => ViewLock.RenewAsync(_witnesses[replica], LockKey(name), _seal, owner, timeToLive, _time, cancellationToken);

    public Task ReleaseLockAsync(int replica, string name, string owner, CancellationToken cancellationToken)
        => ViewLock.ReleaseAsync(_witnesses[replica], LockKey(name), _seal, owner, cancellationToken);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private CacheKey RecordKey(int index) => _keys[index];

    private CacheKey LockKey(string name) => CacheKey.Create(_keyPrefix + name, InvalidKeyHandling.Reject).About(DescribeLock(name));

    /// <summary>What a lock is, for timeouts, fences and protocol errors (rather than its key).</summary>
    private string DescribeLock(string name)
    {
        var parts = name.Split(':');
        return parts switch
        {
            ["recovery"] => "the shared view's recovery lock",
            ["last_failback", var index, var epoch] when int.TryParse(index, CultureInfo.InvariantCulture, out var i) && i >= 0 && i < _records.Count
                => $"the failback lock of server {_records[i]} (epoch {epoch})",
            _ => $"the shared view's lock '{name}'",
        };
    }
}
