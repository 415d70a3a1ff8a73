using Ballast.Connections;
using Ballast.Protocol;
using Ballast.Protocol.Commands;

namespace Ballast.Tests.Security;

/// <summary>
/// Runs commands on a real <see cref="MetaConnection"/> whose server is a <see cref="ScriptedStream"/>: the commands are
/// queued first (opaque tokens 0, 1, 2, ... in order, a multi-get taking one per key), then the scripted bytes are let in.
/// </summary>
internal static class ScriptedConnection
{
    public static readonly ServerEndPoint Server = new("127.0.0.1", 11299);

    public static MemcachedClientOptions DefaultOptions(TimeSpan? operationTimeout = null)
    {
        var options = new MemcachedClientOptions { OperationTimeout = operationTimeout ?? TimeSpan.FromSeconds(30) };
        options.Servers.Add(Server);
        return options;
    }

    /// <summary>Sends <paramref name="commands"/>, plays <paramref name="fragments"/>, and returns each command's outcome task.</summary>
    public static (MetaConnection Connection, Task[] Outcomes) Run(
        IReadOnlyList<MetaCommand> commands,
        IReadOnlyList<byte[]> fragments,
        bool endWithEof = true,
        MemcachedClientOptions? options = null,
        TimeProvider? time = null,
        bool stallWrites = false)
    {
        var stream = new ScriptedStream(fragments, endWithEof, stallWrites);
        var connection = MetaConnection.Over(stream, Server, NullObserver.Instance, time ?? TimeProvider.System, options ?? DefaultOptions());
        var outcomes = new Task[commands.Count];
        for (var i = 0; i < commands.Count; i++)
        {
            outcomes[i] = Await(commands[i]);
            connection.Send(commands[i]);
        }

        stream.Release();
        return (connection, outcomes);
    }

    public static GetCommand Get(string key) => new(CacheKey.Create(key, InvalidKeyHandling.Reject));

    public static StoreCommand Set(string key, string value)
        => Set(key, System.Text.Encoding.UTF8.GetBytes(value));

    public static StoreCommand Set(string key, byte[] value)
        => new(CacheKey.Create(key, InvalidKeyHandling.Reject), value, StoreMode.Set, 0, 0, 0);

    public static MultiGetCommand GetMany(params string[] keys)
        => new(keys.Select(k => CacheKey.Create(k, InvalidKeyHandling.Reject)).ToArray());

    private static Task Await(MetaCommand command) => command switch
    {
        MetaCommand<GetResult> get => get.AsValueTask().AsTask(),
        MetaCommand<StoreResult> store => store.AsValueTask().AsTask(),
        MetaCommand<GetResult[]> many => many.AsValueTask().AsTask(),
        MetaCommand<IReadOnlyDictionary<string, string>> text => text.AsValueTask().AsTask(),
        _ => throw new ArgumentException($"no awaiter for {command.GetType().Name}"),
    };

    private sealed class NullObserver : IConnectionObserver
    {
        public static readonly NullObserver Instance = new();

        public void OnResponsesReceived(MetaConnection connection)
        {
        }

        public void OnFaulted(MetaConnection connection, ConnectionFault fault, Exception error)
        {
        }
    }
}
