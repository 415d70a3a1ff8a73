using System.Globalization;
using System.Text;

namespace Ballast.Invalidation;

/// <summary>
/// The deletes this frontend owes: each failed invalidation stays here until its server confirms it or a flush of
/// that server supersedes it. Kept in memory, and in a file when <see cref="InvalidationOptions.JournalPath"/> is
/// set, so a restarted process resumes them (and keeps the server unread until then).
/// </summary>
/// <remarks>
/// The file is an append-only log: <c>+ id server key epoch</c> when an invalidation becomes owed, <c>- id</c> when
/// it is settled. Adding or settling one costs one short append to a file kept open, not a rewrite of the whole
/// journal. The log is compacted when nothing is owed any more (truncated) or when settled lines outnumber the owed
/// ones by far (rewritten to a temporary file, then renamed over the log, so a crash leaves one or the other). A torn
/// last line from a crash is skipped on load.
/// </remarks>
internal sealed class InvalidationJournal : IDisposable
{
    private const int CompactAfterDeadLines = 1024;
    private readonly string? _path;
    private readonly Lock _lock = new();
    private readonly Dictionary<long, PendingInvalidation> _pending = [];
    private FileStream? _log;
    private long _nextId;
    private int _deadLines;

    public InvalidationJournal(string? path)
    {
        _path = path;
        if (path is null)
        {
            return;
        }

        if (File.Exists(path))
        {
            foreach (var line in File.ReadAllLines(path))
            {
                Replay(line);
            }
        }

        _log = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read);
        Rewrite();
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

    public PendingInvalidation Add(string server, string key, long epoch)
    {
        lock (_lock)
        {
            var entry = new PendingInvalidation(++_nextId, server, key, epoch);
            _pending[entry.Id] = entry;
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
                Settled([entry.Id]);
            }
        }
    }

    /// <summary>Drops the entries of <paramref name="server"/> from before <paramref name="flushedAtEpoch"/>: the flush deleted their keys.</summary>
    public void Supersede(string server, long flushedAtEpoch)
    {
        lock (_lock)
        {
            var gone = _pending.Values.Where(p => p.Server == server && p.Epoch < flushedAtEpoch).Select(p => p.Id).ToList();
            gone.ForEach(id => _pending.Remove(id));
            if (gone.Count > 0)
            {
                Settled(gone);
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
        }
    }

    private void Replay(string line)
    {
        var parts = line.Split('\t');
        if (parts is ["+", var id, var server, var key, var epoch] && TryAdd(id, server, key, epoch))
        {
            return;
        }

        if (parts is ["-", var settled] && long.TryParse(settled, CultureInfo.InvariantCulture, out var settledId))
        {
            _pending.Remove(settledId);
            return;
        }

        // The format of earlier versions (the whole journal, one owed invalidation a line); anything else is a torn line.
        if (parts is [var oldId, var oldServer, var oldKey, var oldEpoch])
        {
            TryAdd(oldId, oldServer, oldKey, oldEpoch);
        }
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
            // Nothing owed: an empty log says so.
            _log.SetLength(0);
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

    /// <summary>Writes the owed entries alone to a temporary file and renames it over the log.</summary>
    private void Rewrite()
    {
        var temporary = _path + ".tmp";
        File.WriteAllText(temporary, string.Concat(_pending.Values.Select(FormatAdd)));
        _log?.Dispose();
        File.Move(temporary, _path!, overwrite: true);
        _log = new FileStream(_path!, FileMode.Open, FileAccess.Write, FileShare.Read);
        _deadLines = 0;
    }

    private static string FormatAdd(PendingInvalidation p)
        => string.Create(CultureInfo.InvariantCulture, $"+\t{p.Id}\t{p.Server}\t{Convert.ToBase64String(Encoding.UTF8.GetBytes(p.Key))}\t{p.Epoch}\n");
}
