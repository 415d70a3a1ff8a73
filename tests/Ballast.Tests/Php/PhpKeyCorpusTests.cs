using System.Globalization;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Ballast.FaultInjection;
using Ballast.Tests.Integrity;
using Ballast.Tests.Security;

namespace Ballast.Tests.Php;

/// <summary>
/// The PHP bridge against the shared corpus of hostile keys (<c>tests/corpus/keys.json</c>), the same the library is
/// held to (<see cref="KeyCorpusTests"/>): its verdict for every key, and, with both PHP extensions against a real
/// memcached behind a proxy that records every request line, that an invalid key reaches the server through no
/// operation (get, set, delete with its fallback, getForRefill, refill), publishes no fence and flushes nothing,
/// while a valid key's commands name that key and no other.
/// </summary>
public sealed class PhpKeyCorpusTests
{
    private const string Value = "corpus-value";

    public static TheoryData<string, string> Extensions => new()
    {
        { "memcache", "pecl-consistent" },
        { "memcached", "ketama" },
    };

    [Fact]
    public void The_bridge_gives_each_corpus_key_the_verdict_the_corpus_names()
    {
        using var php = PhpFrontend.Open("memcache", "127.0.0.1:1", "pecl-consistent");
        var mismatches = new List<string>();
        foreach (var entry in KeyCorpus.All)
        {
            var rule = php.Call(new JsonObject { ["op"] = "checkKey", ["key_b64"] = Convert.ToBase64String(entry.Bytes) }) is JsonValue v ? v.GetValue<string>() : null;
            if (rule != entry.Rule)
            {
                mismatches.Add($"{entry.Name}: PHP {rule ?? "valid"}, corpus {entry.Rule ?? "valid"}");
            }
        }

        Assert.True(mismatches.Count == 0, string.Join("; ", mismatches));
    }

    [Theory]
    [MemberData(nameof(Extensions))]
    public async Task No_corpus_key_sends_a_command_the_caller_did_not_intend_publishes_a_fence_or_flushes_a_server(string extension, string distribution)
    {
        await using var server = await MemcachedProcess.StartAsync(new MemcachedProcessOptions { Threads = 1 });
        await using var proxy = new RecordingProxy(server.Host, server.Port);
        var poolName = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(proxy.EndPoint)))[..12].ToLowerInvariant();
        var recordKey = $"ballast:{poolName}:view:0";
        await WriteViewRecordsAsync(server, proxy, distribution);
        Assert.Equal("STORED", await DirectAsync(server, "set sentinel 0 0 4\r\nkeep\r\n"));
        var recordBefore = await DirectAsync(server, $"get {recordKey}\r\n");
        var flushesBefore = await CmdFlushAsync(server);

        using var php = PhpFrontend.Open(extension, proxy.EndPoint, distribution, boundMs: 60_000);
        php.Refresh();
        var problems = new List<string>();
        var reached = 0;
        foreach (var entry in KeyCorpus.All)
        {
            var mark = proxy.LineCount;
            var outcomes = RunEveryOperation(php, entry);
            var lines = proxy.LinesSince(mark).Where(line => !line.StartsWith($"get ballast:{poolName}:view:", StringComparison.Ordinal)).ToArray();
            if (entry.IsValid)
            {
                var keyText = Encoding.Latin1.GetString(entry.Bytes);
                var foreign = lines.Where(line => line != Value && !(line.Split(' ') is [_, var token, ..] && token == keyText)).ToArray();
                if (outcomes.Any(o => o.StartsWith("error", StringComparison.Ordinal)) || foreign.Length > 0)
                {
                    problems.Add($"valid '{entry.Name}': {string.Join(", ", outcomes)}; lines naming another key: {Show(foreign)}");
                }
            }
            else
            {
                var refusedAsCorpus = outcomes.All(o => o == $"refused {entry.Rule}");
                if (lines.Length > 0)
                {
                    reached++;
                }

                if (!refusedAsCorpus || lines.Length > 0)
                {
                    problems.Add($"invalid '{entry.Name}' ({entry.Rule}): {string.Join(", ", outcomes)}; reached the server: {Show(lines)}");
                }
            }
        }

        var counters = php.State(1)["counters"]!;
        var fences = counters["fences_published"]!.GetValue<int>() + counters["fences_owed"]!.GetValue<int>();
        var flushes = await CmdFlushAsync(server) - flushesBefore;
        var sentinel = await DirectAsync(server, "get sentinel\r\n");
        var recordAfter = await DirectAsync(server, $"get {recordKey}\r\n");
        var summary = $"{reached} of {KeyCorpus.All.Count(e => !e.IsValid)} invalid keys reached the server, {fences} fences, {flushes} flushes, sentinel {(sentinel.Contains("keep", StringComparison.Ordinal) ? "kept" : "gone")}, view record {(recordAfter == recordBefore ? "unchanged" : "changed")}";
        Assert.True(
            problems.Count == 0 && fences == 0 && flushes == 0 && sentinel.Contains("keep", StringComparison.Ordinal) && recordAfter == recordBefore,
            $"{summary}. {string.Join(" | ", problems.Take(12))}");
    }

    [Theory]
    [MemberData(nameof(Extensions))]
    public async Task A_delete_the_server_refuses_as_a_client_error_throws_and_publishes_no_fence(string extension, string distribution)
    {
        // A server that takes the key for a malformed request (no real memcached does for a valid key, so a scripted one):
        // that is the caller's error, not an outage, and a fence would have the monitor flush the server.
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await using var server = new Support.MisbehavingServer(request =>
        {
            lines.Enqueue(request.Line);
            return new Support.MisbehavingServer.Reply(request.Command switch
            {
                "delete" => "CLIENT_ERROR bad command line format\r\n",
                "get" or "gets" => "END\r\n",
                _ => "ERROR\r\n",
            });
        });
        using var php = PhpFrontend.Open(extension, server.EndPoint.ToString(), distribution);

        var error = Assert.Throws<PhpException>(() => php.Delete("valid-key"));

        Assert.Contains("caller's error", error.Message, StringComparison.Ordinal);
        Assert.Contains("nothing was fenced", error.Message, StringComparison.Ordinal);
        var counters = php.State(1)["counters"]!;
        Assert.Equal(0, counters["fences_published"]!.GetValue<int>() + counters["fences_owed"]!.GetValue<int>());
        Assert.DoesNotContain(lines, line => line.StartsWith("cas ", StringComparison.Ordinal) || line.StartsWith("add ", StringComparison.Ordinal) || line.StartsWith("gets ", StringComparison.Ordinal));
    }

    /// <summary>get, set, getForRefill, refill and delete of one key: "ok ..." for each that ran, "refused RULE" or "error ..." for each that threw.</summary>
    private static List<string> RunEveryOperation(PhpFrontend php, KeyCorpus.Entry entry)
    {
        var key = Convert.ToBase64String(entry.Bytes);
        var outcomes = new List<string>();
        long lease = 1;
        void Run(string op, JsonObject request, Action<JsonNode?>? check = null)
        {
            request["op"] = op;
            request["key_b64"] = key;
            try
            {
                var result = php.Call(request);
                check?.Invoke(result);
                outcomes.Add($"ok {op}");
            }
            catch (PhpException error)
            {
                outcomes.Add(error.Rule is { } rule ? $"refused {rule}" : $"error {op}: {error.Message}");
            }
        }

        Run("set", new JsonObject { ["value"] = Value });
        Run("get", []);
        Run("delete", []);
        Run("getForRefill", [], result => lease = result?["lease"] is JsonValue l ? l.GetValue<long>() : 1);
        Run("refill", new JsonObject { ["value"] = Value, ["lease"] = lease });
        Run("delete", []);
        return outcomes;
    }

    /// <summary>Writes the pool's view records (a .NET frontend that connects around the proxy, then leaves), so the bridge finds its server up.</summary>
    private static async Task WriteViewRecordsAsync(MemcachedProcess server, RecordingProxy proxy, string distribution)
    {
        var options = new MemcachedClientOptions
        {
            Distribution = distribution == "ketama" ? KeyDistribution.Ketama : KeyDistribution.PeclConsistent,
            ConnectVia = _ => new ServerEndPoint(server.Host, server.Port),
        };
        options.Servers.Add(new ServerEndPoint(proxy.Host, proxy.Port));
        await using var client = new MemcachedClient(options);
        Assert.True(await IntegrityHarness.WaitUntilAsync(() => client.IsSharedViewFresh && client.GetServerState(client.Servers[0]) == ServerState.Up, TimeSpan.FromSeconds(10)), "the .NET frontend did not write the view");
    }

    private static async Task<long> CmdFlushAsync(MemcachedProcess server)
    {
        var stats = await DirectAsync(server, "stats\r\n");
        var line = stats.Split("\r\n").Single(l => l.StartsWith("STAT cmd_flush ", StringComparison.Ordinal));
        return long.Parse(line["STAT cmd_flush ".Length..], CultureInfo.InvariantCulture);
    }

    /// <summary>One request straight to the server (not through the proxy); its answer up to END, STORED or the first line.</summary>
    private static async Task<string> DirectAsync(MemcachedProcess server, string request)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        var answer = new StringBuilder();
        var buffer = new byte[64 * 1024];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        while (!(answer.ToString() is var text && (text.EndsWith("END\r\n", StringComparison.Ordinal) || (!request.StartsWith("get", StringComparison.Ordinal) && !request.StartsWith("stats", StringComparison.Ordinal) && text.EndsWith("\r\n", StringComparison.Ordinal)))))
        {
            var read = await stream.ReadAsync(buffer, timeout.Token);
            if (read == 0)
            {
                break;
            }

            answer.Append(Encoding.Latin1.GetString(buffer, 0, read));
        }

        return answer.ToString().TrimEnd();
    }

    private static string Show(string[] lines)
        => lines.Length == 0 ? "nothing" : string.Join(" / ", lines.Take(4).Select(l => l.Length > 60 ? l[..60] + "..." : l));
}
