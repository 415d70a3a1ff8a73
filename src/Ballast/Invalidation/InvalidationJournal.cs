using System.Text;

namespace Ballast.Invalidation;

/// <summary>
/// The deletes this frontend owes: each failed invalidation stays here until its server confirms it or a flush of
/// that server supersedes it. Kept in memory, and in a file when <see cref="InvalidationOptions.JournalPath"/> is
/// set, so a restarted process resumes them (and keeps the server unread until then).
/// </summary>
internal sealed class InvalidationJournal
{
    private readonly string? _path;
    private readonly Lock _lock = new();
    private readonly Dictionary<long, PendingInvalidation> _pending = [];
    private long _nextId;

    public InvalidationJournal(string? path)
    {
        _path = path;
        if (path is not null && File.Exists(path))
        {
            foreach (var line in File.ReadAllLines(path))
            {
                var parts = line.Split('\t');
                if (parts.Length == 4 && long.TryParse(parts[0], out var id) && long.TryParse(parts[3], out var epoch))
                {
                    var key = Encoding.UTF8.GetString(Convert.FromBase64String(parts[2]));
                    _pending[id] = new PendingInvalidation(id, parts[1], key, epoch);
                    _nextId = Math.Max(_nextId, id);
                }
            }
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

    public PendingInvalidation Add(string server, string key, long epoch)
    {
        lock (_lock)
        {
            var entry = new PendingInvalidation(++_nextId, server, key, epoch);
            _pending[entry.Id] = entry;
            Save();
            return entry;
        }
    }

    public void Remove(PendingInvalidation entry)
    {
        lock (_lock)
        {
            if (_pending.Remove(entry.Id))
            {
                Save();
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
                Save();
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

    private void Save()
    {
        if (_path is null)
        {
            return;
        }

        // Write-then-rename, so a crash leaves either the old journal or the new one, never half of one.
        var temporary = _path + ".tmp";
        File.WriteAllLines(temporary, _pending.Values.Select(p => $"{p.Id}\t{p.Server}\t{Convert.ToBase64String(Encoding.UTF8.GetBytes(p.Key))}\t{p.Epoch}"));
        File.Move(temporary, _path, overwrite: true);
    }
}
