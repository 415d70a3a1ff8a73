using System.Collections.Concurrent;
using System.Net.Sockets;
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

    /// <summary>
    /// How long R keeps trying, before the kill, to take the lease. An earlier fault may still hold the server down for
    /// R: its failback waits out a hold time, doubled for each earlier outage of the server within a minute and longer
    /// on a loaded machine (a single wait of 1.5 s for the server to be up, then one try, took no lease in a CI run).
    /// A read may also fail once after a blackhole of R's link (a connection opened during it lost its <c>stats</c>).
    /// </summary>
    private static readonly TimeSpan LeaseWait = TimeSpan.FromSeconds(5);
    private const int MaxReadRounds = 200;

    private readonly ChaosCluster _cluster;
    private readonly IReadOnlyList<MemcachedClient> _clients;
    private readonly VersionedDatabase _db;
    private readonly KeySpace _keys;
    private readonly HistoryRecorder.WorkerLog _log;
    private readonly RunClock _clock;
    private readonly ChaosOptions _options;
    private readonly ConcurrentQueue<RestartLeaseMiss> _misses = new();
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

    /// <summary>The windows whose lease did not reach the reads after the restart, and why.</summary>
    public IReadOnlyList<RestartLeaseMiss> Misses => [.. _misses];

    /// <summary>
    /// Before the kill: frontend R wins the lease of the server's key and reads the database, trying again for at most
    /// <see cref="LeaseWait"/> while no lease can be had (the server down or fenced for R, another holder, an error).
    /// When none could be had by then, the fault is a plain kill, and the window is reported with the last reason.
    /// </summary>
    public async Task TakeLeaseAsync(FaultWindow window, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(window);
        _held = null;
        var frontend = window.Frontend ?? 0;
        var deadline = _clock.Elapsed + LeaseWait;
        var reads = 0;
        Attempt attempt;
        while (true)
        {
            try
            {
                attempt = await TryTakeLeaseAsync(window, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is MemcachedException or IOException or SocketException)
            {
                _log.AppError(e);
                attempt = Attempt.Miss("error", $"{e.GetType().Name}: {e.Message}", read: true);
            }

            reads += attempt.Read ? 1 : 0;
            if (attempt.Held is not null || _clock.Elapsed >= deadline)
            {
                break;
            }

            await Task.Delay(ReadPause, ct).ConfigureAwait(false);
        }

        _held = attempt.Held;
        if (_held is not null)
        {
            Interlocked.Increment(ref _taken);
        }
        else
        {
            _misses.Enqueue(new RestartLeaseMiss(window.Start.TotalMilliseconds, window.Server, frontend, "lease", attempt.Reason, attempt.Detail, reads));
        }
    }

    /// <summary>One try at the lease: held, or why not.</summary>
    private async Task<Attempt> TryTakeLeaseAsync(FaultWindow window, CancellationToken ct)
    {
        var frontend = window.Frontend ?? 0;
        var reader = _clients[frontend];
        var key = _keys.LeaseKey(window.Server);
        var name = _keys.Name(key);
        var server = _cluster.Servers[window.Server];

        // An earlier fault may still hold the server down for R: a read now would be a miss without a lease.
        var state = reader.GetServerState(new ServerEndPoint(server.Host, server.Port));
        if (state != ServerState.Up)
        {
            return Attempt.Miss("server-down", $"frontend {frontend} had server {window.Server} {state.ToString().ToLowerInvariant()}", read: false);
        }

        var read = await reader.GetForRefillAsync(name, ct).ConfigureAwait(false);
        if (read.Lease is { } lease)
        {
            if (await CasCounter.ReadItemCasAsync(server.Host, server.Port, name, ct).ConfigureAwait(false) is { } cas)
            {
                return new Attempt(new Held(lease, _db.Read(key), cas), "taken", string.Empty, Read: true);
            }

            // The placeholder is not on the server (the lease was another server's, a gutter's): void it, so that the
            // next try is not told that someone (this very frontend) holds the lease.
            await reader.DeleteAsync(name, ct).ConfigureAwait(false);
            return Attempt.Miss("no-cas", $"frontend {frontend} won a lease, but server {window.Server} held no placeholder of the key (the lease was another server's)", read: true);
        }

        if (read.IsHit)
        {
            // An earlier window's value: make room for a lease (an invalidation with no database change).
            await reader.DeleteAsync(name, ct).ConfigureAwait(false);
            return Attempt.Miss("hit", "the key answered a value, deleted to make room for a lease", read: true);
        }

        if (!reader.IsSharedViewFresh)
        {
            return Attempt.Miss("view-stale", $"frontend {frontend}'s shared view was not fresh: its read was a miss without a lease", read: true);
        }

        // A lease someone else holds and a read that failed are the same plain miss to the client: the server itself
        // says which, by whether a placeholder of the key is there.
        return await CasCounter.ReadItemCasAsync(server.Host, server.Port, name, ct).ConfigureAwait(false) is not null
            ? Attempt.Miss("lease-held", $"a miss with no lease, and a placeholder of the key on server {window.Server}: another caller held its refill lease", read: true)
            : Attempt.Miss("no-lease", $"a miss with no lease, and no placeholder of the key on server {window.Server}: the read did not get there (an error the client answers as a miss)", read: true);
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
                var detail = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"frontend {window.Frontend ?? 0} still had server {window.Server} {reader.GetServerState(endPoint).ToString().ToLowerInvariant()} {ReadmissionWait.TotalSeconds:0} s after its restart: no refill under the old lease, no read after the restart");
                _misses.Enqueue(new RestartLeaseMiss(window.Start.TotalMilliseconds, window.Server, window.Frontend ?? 0, "readmission", "not-readmitted", detail, 0));
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

    /// <summary>One try at the lease: <paramref name="Held"/> when it was taken, else the reason; <paramref name="Read"/> when the key was read.</summary>
    private readonly record struct Attempt(Held? Held, string Reason, string Detail, bool Read)
    {
        public static Attempt Miss(string reason, string detail, bool read) => new(null, reason, detail, read);
    }
}
