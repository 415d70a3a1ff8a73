namespace Ballast.Cli.Chaos;

/// <summary>
/// One lock per key, shared by every .NET frontend of a run (they live in one process): the <c>IDistributedCache</c>
/// share holds a key's lock across its database access and its cache call, so that its sets land in the order of
/// the database's versions and a stale read can only be the cache's doing, never the application's race.
/// </summary>
public sealed class KeyLocks : IDisposable
{
    private readonly SemaphoreSlim[] _locks;

    /// <summary>Locks for <paramref name="count"/> key indexes.</summary>
    public KeyLocks(int count) => _locks = Enumerable.Range(0, count).Select(_ => new SemaphoreSlim(1, 1)).ToArray();

    /// <summary>Takes the lock of key <paramref name="key"/>; dispose the result to release it.</summary>
    public async Task<Held> EnterAsync(int key, CancellationToken ct)
    {
        await _locks[key].WaitAsync(ct).ConfigureAwait(false);
        return new Held(_locks[key]);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var l in _locks)
        {
            l.Dispose();
        }
    }

    /// <summary>A key's lock, held until disposed.</summary>
    public readonly struct Held(SemaphoreSlim taken) : IDisposable
    {
        /// <summary>Releases the lock.</summary>
        public void Dispose() => taken.Release();
    }
}
