using System.Globalization;
using System.Text;
using Ballast.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Ballast.Invalidation;

/// <summary>
/// The deletes this frontend owes: each failed invalidation stays here until its server confirms it or a flush of
/// that server supersedes it. Kept in memory, and in a file when <see cref="InvalidationOptions.JournalPath"/> is
/// set, so a restarted process resumes them (and keeps the server unread until then).
/// </summary>
/// <remarks>
/// The file is an append-only log: a header naming the pool (<c>#ballast-journal 2 pool</c>, tab-separated), then
/// <c>+ id server key epoch</c> when an invalidation becomes owed and <c>- id</c> when it is settled. Adding or settling
/// one costs one short append to a file kept open, not a rewrite of the whole journal. The log is compacted when
/// nothing is owed any more (cut back to its header) or when settled lines outnumber the owed ones by far (rewritten to
/// a temporary file, then renamed over the log, so a crash leaves one or the other).
/// <para>
/// It holds keys and server addresses and decides which servers a restarted process fences and flushes, so: it is
/// created readable by its owner only (0600, and an older one is tightened); the temporary file is created new, never
/// opened through a symlink someone left there; one process holds it at a time (an exclusive lock on
/// <c>&lt;path&gt;.lock</c>: a second gets a clear error instead of dropping the first one's entries); a journal of
/// another pool is refused (its servers may be this pool's too, and its owed deletes are not this pool's); and a line
/// it cannot read (a torn last line from a crash, or damage) is logged and skipped. A journal without a header, from an
/// earlier version, is taken as this pool's and rewritten with one.
/// </para>
/// </remarks>
internal sealed class InvalidationJournal : IDisposable
{
    private const int CompactAfterDeadLines = 1024;
    private const string HeaderTag = "#ballast-journal";
    private const string FormatVersion = "2";
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private readonly string? _path;
    private readonly string _header;
    private readonly Lock _lock = new();
    private readonly Dictionary<long, PendingInvalidation> _pending = [];
    private readonly Dictionary<(string Server, string Key, long Epoch), long> _owedIds = [];
    private FileStream? _exclusive;
    private FileStream? _log;
    private long _nextId;
    private int _deadLines;

    /// <param name="path">The file; null to keep the journal in memory only.</param>
    /// <param name="poolName">The pool it belongs to, named in its header.</param>
    /// <param name="logger">Where a line that cannot be read is reported.</param>
    /// <exception cref="InvalidOperationException">The journal belongs to another pool, or another process holds it; the message names the path.</exception>
    public InvalidationJournal(string? path, string poolName, ILogger logger)
    {
        _path = path;
        _header = $"{HeaderTag}\t{FormatVersion}\t{poolName}\n";
        if (path is null)
        {
            return;
        }

        _exclusive = TakeLock(path);
        try
        {
            if (File.Exists(path))
            {
                Load(path, poolName, logger);
            }

            Rewrite();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _pending.Count;
            }
        }
    }

    /// <summary>Owes the delete of <paramref name="key"/> on <paramref name="server"/>; the same delete owed twice is one entry.</summary>
    public PendingInvalidation Add(string server, string key, long epoch)
    {
        lock (_lock)
        {
            if (_owedIds.TryGetValue((server, key, epoch), out var id) && _pending.TryGetValue(id, out var owed))
            {
                return owed;
            }

            var entry = new PendingInvalidation(++_nextId, server, key, epoch);
            _pending[entry.Id] = entry;
            _owedIds[(server, key, epoch)] = entry.Id;
            Append(FormatAdd(entry));
            return entry;
        }
    }

    public void Remove(PendingInvalidation entry)
    {
        lock (_lock)
        {
            if (_pending.Remove(entry.Id))
            {
                _owedIds.Remove((entry.Server, entry.Key, entry.Epoch));
                Settled([entry.Id]);
            }
        }
    }

    /// <summary>Drops the entries of <paramref name="server"/> from before <paramref name="flushedAtEpoch"/>: the flush deleted their keys.</summary>
    public void Supersede(string server, long flushedAtEpoch)
    {
        lock (_lock)
        {
            var gone = _pending.Values.Where(p => p.Server == server && p.Epoch < flushedAtEpoch).ToList();
            foreach (var entry in gone)
            {
                _pending.Remove(entry.Id);
                _owedIds.Remove((entry.Server, entry.Key, entry.Epoch));
            }

            if (gone.Count > 0)
            {
                Settled([.. gone.Select(entry => entry.Id)]);
            }
        }
    }

    public bool HasPendingFor(string server)
    {
        lock (_lock)
        {
            return _pending.Values.Any(p => p.Server == server);
        }
    }

    /// <summary>
    /// True when a delete owed on <paramref name="server"/> failed at <paramref name="epoch"/> or later and only a
    /// flush after it would settle it: a readmission at <paramref name="epoch"/> does not cover it. (Entries owed until
    /// confirmed are not counted: they are sent to the server as soon as the view has it up.)
    /// </summary>
    public bool HasFlushBoundPendingSince(string server, long epoch)
    {
        lock (_lock)
        {
            return _pending.Values.Any(p => p.Server == server && !p.IsUntilConfirmed && p.Epoch >= epoch);
        }
    }

    public List<PendingInvalidation> Snapshot()
    {
        lock (_lock)
        {
            return [.. _pending.Values];
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _log?.Dispose();
            _log = null;
            _exclusive?.Dispose();
            _exclusive = null;
        }
    }

    /// <summary>
    /// The lock that makes the journal one process's: an exclusive lock (flock) on <c>&lt;path&gt;.lock</c>, held for the
    /// journal's life. Not on the journal itself, which compaction replaces by a rename (a lock on the old file would
    /// then guard nothing).
    /// </summary>
    private static FileStream TakeLock(string path)
    {
        try
        {
            return new FileStream(path + ".lock", OwnerOnlyFile(FileMode.OpenOrCreate, FileAccess.ReadWrite));
        }
        catch (IOException error)
        {
            throw new InvalidOperationException(
                $"The invalidation journal '{path}' is in use by another process (it holds '{path}.lock'): two clients must not share one journal, or each drops invalidations the other owes. Give each client its own JournalPath.",
                error);
        }
    }

    private void Load(string path, string poolName, ILogger logger)
    {
        var lines = File.ReadAllLines(path);
        var first = 0;
        if (lines.Length > 0 && lines[0].StartsWith(HeaderTag, StringComparison.Ordinal))
        {
            var header = lines[0].Split('\t');
            if (header is not [HeaderTag, FormatVersion, var owner])
            {
                throw new InvalidOperationException($"The invalidation journal '{path}' has a header this version cannot read ('{Shown(lines[0])}'); it was written by another version of Ballast.");
            }

            if (owner != poolName)
            {
                throw new InvalidOperationException(
                    $"The invalidation journal '{path}' belongs to pool '{Shown(owner)}', not to this client's pool '{poolName}': its owed deletes are that pool's, and settling them here would fence and flush servers on another pool's word. Give each pool its own JournalPath.");
            }

            first = 1;
        }

        for (var i = first; i < lines.Length; i++)
        {
            if (!Replay(lines[i]))
            {
                logger.JournalLineSkipped(path, i + 1);
            }
        }
    }

    /// <summary>Applies one line; false when it is no entry this journal wrote (a torn line, damage).</summary>
    private bool Replay(string line)
    {
        var parts = line.Split('\t');
        if (parts is ["+", var id, var server, var key, var epoch] && TryAdd(id, server, key, epoch))
        {
            return true;
        }

        if (parts is ["-", var settled] && long.TryParse(settled, CultureInfo.InvariantCulture, out var settledId))
        {
            _pending.Remove(settledId);
            return true;
        }

        // The format of earlier versions (the whole journal, one owed invalidation a line).
        return parts is [var oldId, var oldServer, var oldKey, var oldEpoch] && TryAdd(oldId, oldServer, oldKey, oldEpoch);
    }

    private bool TryAdd(string id, string server, string key, string epoch)
    {
        if (!long.TryParse(id, CultureInfo.InvariantCulture, out var parsedId) || !long.TryParse(epoch, CultureInfo.InvariantCulture, out var parsedEpoch))
        {
            return false;
        }

        try
        {
            _pending[parsedId] = new PendingInvalidation(parsedId, server, Encoding.UTF8.GetString(Convert.FromBase64String(key)), parsedEpoch);
            _nextId = Math.Max(_nextId, parsedId);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private void Settled(List<long> ids)
    {
        if (_log is null)
        {
            return;
        }

        if (_pending.Count == 0)
        {
            // Nothing owed: the header alone says so.
            _log.SetLength(Encoding.UTF8.GetByteCount(_header));
            _log.Flush();
            _deadLines = 0;
            return;
        }

        Append(string.Concat(ids.Select(id => string.Create(CultureInfo.InvariantCulture, $"-\t{id}\n"))));
        _deadLines += ids.Count * 2;
        if (_deadLines > CompactAfterDeadLines && _deadLines > _pending.Count * 4)
        {
            Rewrite();
        }
    }

    private void Append(string lines)
    {
        if (_log is null)
        {
            return;
        }

        _log.Seek(0, SeekOrigin.End);
        _log.Write(Encoding.UTF8.GetBytes(lines));
        _log.Flush();
    }

    /// <summary>
    /// Writes the header and the owed entries to a temporary file and renames it over the log. The temporary file is
    /// created new (a file or symlink already there is removed first, and never opened: <c>O_CREAT|O_EXCL</c> does not
    /// follow a symlink), readable by its owner only.
    /// </summary>
    private void Rewrite()
    {
        var temporary = _path + ".tmp";
        File.Delete(temporary);
        using (var file = new FileStream(temporary, OwnerOnlyFile(FileMode.CreateNew, FileAccess.Write)))
        {
            file.Write(Encoding.UTF8.GetBytes(_header + string.Concat(_pending.Values.Select(FormatAdd))));
        }

        _log?.Dispose();
        File.Move(temporary, _path!, overwrite: true);
        _log = new FileStream(_path!, FileMode.Open, FileAccess.Write, FileShare.Read);
        _deadLines = 0;
    }

    /// <summary>Opening options of a file no one else may open: created readable and writable by its owner only, not shared.</summary>
    private static FileStreamOptions OwnerOnlyFile(FileMode mode, FileAccess access)
    {
        var options = new FileStreamOptions { Mode = mode, Access = access, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerOnly;
        }

        return options;
    }

    /// <summary>Text read from the file, as a message may show it.</summary>
    private static string Shown(string text) => SharedView.ViewEntry.Shown(text);

    private static string FormatAdd(PendingInvalidation p)
        => string.Create(CultureInfo.InvariantCulture, $"+\t{p.Id}\t{p.Server}\t{Convert.ToBase64String(Encoding.UTF8.GetBytes(p.Key))}\t{p.Epoch}\n");
}
