using Ballast.FaultInjection;

namespace Ballast.Cli.Chaos;

/// <summary>
/// The application side of the <see cref="FaultKind.Restart"/> fault: a refill lease that is still out when its
/// server restarts. Before the kill, the window's frontend (R) reads the server's lease key, wins the lease and reads
/// the database (a slow reader); after the kill, the next frontend writes the database and deletes the key. Once the
/// restarted server is readmitted, its CAS counter is brought round so that a new placeholder of the key gets the
/// CAS of R's lease (the moment a busy server reaches by itself), R refills under its old lease, and every frontend
/// reads the key for a while. Those reads and the write go into the run's history, where the staleness checker
/// judges them like any other: R's value is older than a write that completed more than the bound before them.
/// </summary>
public sealed class LeaseAcrossRestart
{
    private static readonly TimeSpan ReadmissionWait = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan ReadPause = TimeSpan.FromMilliseconds(50);

    /// <summary>How long R waits, before the kill, for an earlier fault to have let go of the server.</summary>
    private static readonly TimeSpan UpWait = TimeSpan.FromSeconds(1.5);
    private const int MaxReadRounds = 200;

    private readonly ChaosCluster _cluster;
    private readonly IReadOnlyList<MemcachedClient> _clients;
    private readonly VersionedDatabase _db;
    private readonly KeySpace _keys;
    private readonly HistoryRecorder.WorkerLog _log;
    private readonly RunClock _clock;
    private readonly ChaosOptions _options;
    private Held? _held;
    private int _taken;
    private int _broughtRound;
    private int _oldLeaseStored;

    /// <summary>Creates the scenario over the run's frontends, recording into <paramref name="log"/>.</summary>
    public LeaseAcrossRestart(ChaosCluster cluster, IReadOnlyList<MemcachedClient> clients, VersionedDatabase db, KeySpace keys, HistoryRecorder.WorkerLog log, RunClock clock, ChaosOptions options)
    {
        _cluster = cluster;
        _clients = clients;
        _db = db;
        _keys = keys;
        _log = log;
        _clock = clock;
        _options = options;
    }

    /// <summary>Leases taken before a restart (the fault's first step succeeded).</summary>
    public int LeasesTaken => _taken;

    /// <summary>Restarts after which the counter reached the old lease's CAS on a new placeholder of its key.</summary>
    public int BroughtRound => _broughtRound;

    /// <summary>Refills under a lease of the server's earlier life that were stored.</summary>
    public int OldLeasesStored => _oldLeaseStored;

    /// <summary>
    /// Before the kill: frontend R wins the lease of the server's key and reads the database. When no lease can be had
    /// (the server is down or fenced for R, an error), the fault is a plain kill.
    /// </summary>
    public async Task TakeLeaseAsync(FaultWindow window, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(window);
        _held = null;
        try
        {
            _held = await TryTakeLeaseAsync(window, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is MemcachedException or IOException or System.Net.Sockets.SocketException)
        {
            _log.AppError(e);
        }

        if (_held is not null)
        {
            Interlocked.Increment(ref _taken);
        }
    }

    private async Task<Held?> TryTakeLeaseAsync(FaultWindow window, CancellationToken ct)
    {
        var reader = _clients[window.Frontend ?? 0];
        var key = _keys.LeaseKey(window.Server);
        var name = _keys.Name(key);

        // An earlier fault may still hold the server down for R (a failback waits out its hold time, longer on a loaded
        // machine): wait for it, bounded, so that the scenario runs rather than turning into a plain kill.
        var endPoint = new ServerEndPoint(_cluster.Servers[window.Server].Host, _cluster.Servers[window.Server].Port);
        var waitStart = _clock.Elapsed;
        while (reader.GetServerState(endPoint) != ServerState.Up && _clock.Elapsed - waitStart < UpWait)
        {
            await Task.Delay(ReadPause, ct).ConfigureAwait(false);
        }

        RefillLease? lease = null;
        for (var attempt = 0; attempt < 3 && lease is null; attempt++)
        {
            var read = await reader.GetForRefillAsync(name, ct).ConfigureAwait(false);
            if (read.Lease is { } won)
            {
                lease = won;
            }
            else if (read.IsHit)
            {
                // An earlier window's value: make room for a lease (an invalidation with no database change).
                await reader.DeleteAsync(name, ct).ConfigureAwait(false);
            }
            else
            {
                // No lease to be had here now (the server is down for R, or someone else's placeholder).
                return null;
            }
        }

        var server = _cluster.Servers[window.Server];
        if (lease is null || await CasCounter.ReadItemCasAsync(server.Host, server.Port, name, ct).ConfigureAwait(false) is not { } cas)
        {
            return null;
        }

        return new Held(lease, _db.Read(key), cas);
    }

    /// <summary>After the kill: the next frontend writes the database and deletes the key, recorded as a write.</summary>
    public async Task WriteAsync(FaultWindow window, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(window);
        if (_held is null)
        {
            return;
        }

        var frontend = ((window.Frontend ?? 0) + 1) % _clients.Count;
        var key = _keys.LeaseKey(window.Server);
        var start = _clock.NowMs;
        var version = _db.Write(key);
        await Workload.RecordWriteAsync(_log, _clock, new WriteRecord(frontend, key, version, start, 0, false), () => _clients[frontend].DeleteAsync(_keys.Name(key), ct).AsTask(), ct).ConfigureAwait(false);
    }

    /// <summary>
    /// After the restart: waits (bounded) for R to readmit the server, brings the counter round to the lease's CAS
    /// on a new placeholder of the key, refills under the old lease, then has every frontend read the key until more
    /// than the bound has passed since the write.
    /// </summary>
    public async Task FinishAsync(FaultWindow window, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(window);
        if (_held is not { } held)
        {
            return;
        }

        _held = null;
        var reader = _clients[window.Frontend ?? 0];
        var server = _cluster.Servers[window.Server];
        var endPoint = new ServerEndPoint(server.Host, server.Port);
        var key = _keys.LeaseKey(window.Server);
        var name = _keys.Name(key);
        var waitStart = _clock.Elapsed;
        while (reader.GetServerState(endPoint) != ServerState.Up)
        {
            if (_clock.Elapsed - waitStart > ReadmissionWait)
            {
                return;
            }

            await Task.Delay(ReadPause, ct).ConfigureAwait(false);
        }

        try
        {
            if (await CasCounter.VivifyAtAsync(server.Host, server.Port, name, held.Cas, ct: ct).ConfigureAwait(false) == held.Cas)
            {
                Interlocked.Increment(ref _broughtRound);
            }
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
        {
            // The server is not answering (again): the refill below meets whatever it holds.
            _log.AppError(e);
        }

        try
        {
            if ((await reader.RefillAsync(name, VersionedDatabase.Encode(held.Version), held.Lease, cancellationToken: ct).ConfigureAwait(false)).IsStored)
            {
                Interlocked.Increment(ref _oldLeaseStored);
            }
        }
        catch (MemcachedException e)
        {
            _log.AppError(e);
        }

        var written = _clock.NowMs;
        for (var round = 0; round < MaxReadRounds && (round < 3 || _clock.NowMs - written < _options.Bound.TotalMilliseconds + 500); round++)
        {
            for (var f = 0; f < _clients.Count; f++)
            {
                await ReadAsync(f, key, name, ct).ConfigureAwait(false);
            }

            await Task.Delay(ReadPause, ct).ConfigureAwait(false);
        }
    }

    /// <summary>A cache-aside read of the key by frontend <paramref name="frontend"/>, as the workload reads.</summary>
    private async Task ReadAsync(int frontend, int key, string name, CancellationToken ct)
    {
        var client = _clients[frontend];
        var start = _clock.NowMs;
        long version;
        var hit = false;
        try
        {
            var read = await client.GetForRefillAsync(name, ct).ConfigureAwait(false);
            if (VersionedDatabase.TryDecode(read.Value, out version))
            {
                hit = true;
            }
            else
            {
                version = _db.Read(key);
                if (read.Lease is { } lease)
                {
                    await client.RefillAsync(name, VersionedDatabase.Encode(version), lease, cancellationToken: ct).ConfigureAwait(false);
                }
            }
        }
        catch (MemcachedException e)
        {
            _log.AppError(e);
            version = _db.Read(key);
        }

        _log.Read(new ReadRecord(frontend, key, version, start, _clock.NowMs, hit, ReadPaths.AfterRestart));
    }

    private sealed record Held(RefillLease Lease, long Version, ulong Cas);
}
