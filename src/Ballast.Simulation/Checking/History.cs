using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Ballast.Simulation.Faults;
using Ballast.Simulation.Workload;

namespace Ballast.Simulation.Checking;

/// <summary>One application call and what it returned: the version it read or wrote, and how it ended.</summary>
/// <param name="Frontend">The frontend.</param>
/// <param name="Worker">The worker of that frontend.</param>
/// <param name="Index">The operation's place in its worker's stream.</param>
/// <param name="Kind">The API.</param>
/// <param name="Key">The key (its name).</param>
/// <param name="KeyIndex">The key's index in the database (-1 for counters).</param>
/// <param name="Start">When the call began (ticks).</param>
/// <param name="End">When it returned.</param>
/// <param name="Version">The version read (reads), written (writes), or the counter value.</param>
/// <param name="Hit">A read served by the cache.</param>
/// <param name="IsRead">A read the staleness check counts.</param>
/// <param name="IsWrite">A write (database, then invalidation or store).</param>
/// <param name="Outcome">How it ended, in words (status, exception type).</param>
internal sealed record OperationRecord(int Frontend, int Worker, int Index, OperationKind Kind, string Key, int KeyIndex, long Start, long End, long Version, bool Hit, bool IsRead, bool IsWrite, string Outcome);

/// <summary>A <c>ServerFailed</c> or <c>ServerRecovered</c> event of one frontend.</summary>
internal sealed record ClientEventRecord(int Frontend, int Server, long At, bool Failed, long Epoch, bool FlushedHere, string Detail);

/// <summary>A <c>ServerFlushed</c> event of one frontend: the flush it made, for which outage epoch, and why.</summary>
internal sealed record FlushEventRecord(int Frontend, int Server, long At, long Epoch, ServerFlushReason Reason);

/// <summary>Something a server did that the checks need: a flush (who sent it), a counter value handed out, a restart.</summary>
/// <param name="Server">The server.</param>
/// <param name="Frontend">The frontend whose connection sent the command; -1 for the operator or the fault injector.</param>
/// <param name="At">When the server ran it.</param>
/// <param name="SentAt">When its sender sent it.</param>
/// <param name="What"><c>flush_all</c>, <c>ma</c>, <c>restart</c>, <c>operator flush</c>, <c>evict</c>.</param>
/// <param name="Key">The key, for <c>ma</c>.</param>
/// <param name="Number">The counter value (<c>ma</c>) or the flush delay.</param>
internal sealed record ServerRecord(int Server, int Frontend, long At, long SentAt, string What, string? Key, ulong Number);

/// <summary>A fault as applied.</summary>
internal sealed record FaultRecord(PlannedFault Fault, long At, bool Lifted);

/// <summary>
/// Everything a simulated world did, in the order it happened: the calls, the clients' events, the servers' flushes
/// and counters, the faults. Its digest (SHA-256 over every record) is what the determinism test compares.
/// </summary>
internal sealed class History
{
    // Records are appended here as bytes and hashed a block at a time (one SHA-256 call per block, not per record).
    // A block of fixed size, not one buffer for the whole history, which grew by doubling to a world's megabytes on the
    // large object heap. The bytes hashed, so the digests, are the same.
    private const int DigestBlockSize = 16 * 1024;
    private readonly IncrementalHash _digest = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _block = new byte[DigestBlockSize];
    private int _blockLength;

    public List<OperationRecord> Operations { get; } = [];

    public List<ClientEventRecord> Events { get; } = [];

    /// <summary>The frontends' flushes, as they told them (not in the digest: the servers' own flush records are).</summary>
    public List<FlushEventRecord> Flushes { get; } = [];

    public List<ServerRecord> ServerRecords { get; } = [];

    public List<FaultRecord> Faults { get; } = [];

    /// <summary>
    /// When each frontend's GetOrCreate factories first read each (key, version) from the database: a caller that got
    /// such a value without running the factory itself joined (or waited for) that run.
    /// </summary>
    public Dictionary<(int Frontend, string Key, long Version), long> FactoryRuns { get; } = [];

    /// <summary>
    /// When a replica first stored each "up" record of the view, by (server, epoch): when a readmission's record was
    /// written, which the record's epoch alone does not tell (not in the digest: the servers' answers are).
    /// </summary>
    public Dictionary<(int Server, long Epoch), long> UpRecordsWritten { get; } = [];

    /// <summary>
    /// Every "down" record (a fence) a replica stored: server, epoch, and when that very record (same content) was first
    /// stored anywhere (not in the digest). A copy put back where a flush wiped it, or repaired onto a replica that
    /// lacked it, is no new fence: dated by the original, it does not look like a fence published after a flush it
    /// came before (simulator seed offline 42000070: a repair 16 ms after a recovery's flush, of the record the
    /// recovery had read before it, was taken for a new fence, and the readmission for one without a flush).
    /// </summary>
    public List<(int Server, long Epoch, long At)> FencesWritten { get; } = [];

    /// <summary>When each down record's content was first stored, by server (for <see cref="FencesWritten"/>).</summary>
    public Dictionary<(int Server, string Content), long> FenceFirstWritten { get; } = [];

    /// <summary>The frontends' log lines, when the world was run with logs (not in the digest).</summary>
    public List<(long At, string Line)> Logs { get; } = [];

    public void Add(OperationRecord record)
    {
        Operations.Add(record);
        Mix(1, record.Frontend, record.Worker, record.Index, (int)record.Kind, record.KeyIndex, record.Start, record.End, record.Version, record.Hit ? 1 : 0);
        MixText(record.Key);
        MixText(record.Outcome);
    }

    public void Add(ClientEventRecord record)
    {
        Events.Add(record);
        Mix(2, record.Frontend, record.Server, record.Failed ? 1 : 0, record.FlushedHere ? 1 : 0, 0, record.At, record.Epoch, 0, 0);
        MixText(record.Detail);
    }

    public void Add(ServerRecord record)
    {
        ServerRecords.Add(record);
        Mix(3, record.Server, record.Frontend, 0, 0, 0, record.At, record.SentAt, (long)record.Number, 0);
        MixText(record.What);
        MixText(record.Key ?? string.Empty);
    }

    public void Add(FaultRecord record)
    {
        Faults.Add(record);
        var f = record.Fault;
        Mix(4, (int)f.Kind, f.Server, f.Frontend, f.Direction, record.Lifted ? 1 : 0, record.At, f.Start, f.End, 0);
    }

    /// <summary>Adds the world's totals (steps run, final virtual time) and returns the digest as hex.</summary>
    public string Finish(long steps, long now)
    {
        Mix(5, 0, 0, 0, 0, 0, steps, now, 0, 0);
        HashBlock();
        var digest = Convert.ToHexString(_digest.GetHashAndReset());
        _digest.Dispose();
        return digest;
    }

    /// <summary>Room for <paramref name="length"/> more bytes in the block (at most <see cref="DigestBlockSize"/>), hashing it first if full.</summary>
    private Span<byte> Reserve(int length)
    {
        if (_blockLength + length > _block.Length)
        {
            HashBlock();
        }

        return _block.AsSpan(_blockLength);
    }

    private void HashBlock()
    {
        _digest.AppendData(_block, 0, _blockLength);
        _blockLength = 0;
    }

    private void Mix(int tag, int a, int b, int c, int d, int e, long f, long g, long h, int i)
    {
        var s = Reserve(52);
        BinaryPrimitives.WriteInt32LittleEndian(s, tag);
        BinaryPrimitives.WriteInt32LittleEndian(s[4..], a);
        BinaryPrimitives.WriteInt32LittleEndian(s[8..], b);
        BinaryPrimitives.WriteInt32LittleEndian(s[12..], c);
        BinaryPrimitives.WriteInt32LittleEndian(s[16..], d);
        BinaryPrimitives.WriteInt32LittleEndian(s[20..], e);
        BinaryPrimitives.WriteInt64LittleEndian(s[24..], f);
        BinaryPrimitives.WriteInt64LittleEndian(s[32..], g);
        BinaryPrimitives.WriteInt64LittleEndian(s[40..], h);
        BinaryPrimitives.WriteInt32LittleEndian(s[48..], i);
        _blockLength += 52;
    }

    private void MixText(string text)
    {
        var n = Encoding.UTF8.GetMaxByteCount(text.Length) + 1;
        if (n > DigestBlockSize)
        {
            HashBlock();
            _digest.AppendData(Encoding.UTF8.GetBytes(text));
            _digest.AppendData([0]);
            return;
        }

        var span = Reserve(n);
        var written = Encoding.UTF8.GetBytes(text, span);
        span[written] = 0;
        _blockLength += written + 1;
    }
}
