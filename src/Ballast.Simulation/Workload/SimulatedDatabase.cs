using System.Globalization;
using System.Text;

namespace Ballast.Simulation.Workload;

/// <summary>
/// The application's authoritative store: a version counter per key (cache-aside keys, then distributed-cache keys),
/// and a write lock per key, so that writes of one key are serialized as a database row lock would serialize them
/// (a write-through set racing another write of the same key would be the application's race, not the cache's).
/// </summary>
internal sealed class SimulatedDatabase
{
    private readonly long[] _versions;
    private readonly Queue<TaskCompletionSource>?[] _waiters;
    private readonly bool[] _locked;

    public SimulatedDatabase(int keys)
    {
        _versions = new long[keys];
        _waiters = new Queue<TaskCompletionSource>?[keys];
        _locked = new bool[keys];
    }

    public long Read(int key) => _versions[key];

    public long Write(int key) => ++_versions[key];

    /// <summary>Takes the key's write lock (continuations run inline: the simulation is single-threaded).</summary>
    public Task LockAsync(int key)
    {
        if (!_locked[key])
        {
            _locked[key] = true;
            return Task.CompletedTask;
        }

        var waiter = new TaskCompletionSource();
        (_waiters[key] ??= new Queue<TaskCompletionSource>()).Enqueue(waiter);
        return waiter.Task;
    }

    public void Unlock(int key)
    {
        if (_waiters[key] is { Count: > 0 } queue)
        {
            queue.Dequeue().SetResult();
            return;
        }

        _locked[key] = false;
    }

    /// <summary>A cached value: the version as a JSON string (<c>"v42"</c>), as <c>GetOrCreateAsync</c> writes it.</summary>
    public static byte[] Encode(long version) => Encoding.ASCII.GetBytes("\"v" + version.ToString(CultureInfo.InvariantCulture) + "\"");

    /// <summary>The value as <c>GetOrCreateAsync</c> returns it.</summary>
    public static string Text(long version) => "v" + version.ToString(CultureInfo.InvariantCulture);

    public static bool TryDecode(ReadOnlySpan<byte> value, out long version)
    {
        version = 0;
        return value.Length > 3 && value[0] == (byte)'"' && value[1] == (byte)'v' && value[^1] == (byte)'"'
            && System.Buffers.Text.Utf8Parser.TryParse(value[2..^1], out version, out var used) && used == value.Length - 3;
    }

    public static bool TryDecode(string? text, out long version)
    {
        version = 0;
        return text is ['v', .. var digits] && long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out version);
    }
}
