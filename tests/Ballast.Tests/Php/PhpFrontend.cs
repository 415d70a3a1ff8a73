using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Ballast.Tests.Php;

/// <summary>
/// One long-running php-cli frontend driven by <c>bridge-driver.php</c>: the bridge (<c>php/ballast.php</c>) over
/// php-memcache or php-memcached, or the bare extension with its default failover (the control). Requests go one JSON
/// line at a time; the process is killed at disposal.
/// </summary>
internal sealed class PhpFrontend : IDisposable
{
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(15);
    private readonly Process _process;
    private readonly StringBuilder _errors = new();
    private bool _disposed;

    private PhpFrontend(Process process)
    {
        _process = process;
        _process.ErrorDataReceived += (_, e) =>
        {
            lock (_errors)
            {
                _errors.AppendLine(e.Data);
            }
        };
        _process.BeginErrorReadLine();
    }

    /// <summary>The repository's root (the folder with Ballast.slnx), found from this test assembly.</summary>
    public static string RepositoryRoot
    {
        get
        {
            var directory = new DirectoryInfo(AppContext.BaseDirectory);
            while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Ballast.slnx")))
            {
                directory = directory.Parent;
            }

            return directory?.FullName ?? throw new InvalidOperationException($"no Ballast.slnx above {AppContext.BaseDirectory}");
        }
    }

    /// <summary>Starts php with the bridge over <paramref name="extension"/> ("memcache" or "memcached").</summary>
    /// <param name="extra">Further bridge options (pool_name, secret, ...), added to the ones above.</param>
    public static PhpFrontend Open(string extension, string servers, string distribution, int boundMs = 1000, bool bare = false, JsonObject? extra = null)
    {
        var start = Ballast.Cli.Chaos.PhpChaosFrontend.PhpStartInfo(Path.Combine(RepositoryRoot, "tests", "Ballast.Tests", "Php", "bridge-driver.php"), Path.Combine(RepositoryRoot, "php", "ballast.php"));
        var frontend = new PhpFrontend(Process.Start(start) ?? throw new InvalidOperationException("php did not start."));
        try
        {
            var options = new JsonObject { ["servers"] = servers, ["distribution"] = distribution, ["hash"] = "crc32", ["bound_ms"] = boundMs };
            foreach (var (name, value) in extra ?? [])
            {
                options[name] = value?.DeepClone();
            }

            frontend.Call(new JsonObject
            {
                ["op"] = "open",
                ["ext"] = extension,
                ["bare"] = bare,
                ["options"] = options,
            });
        }
        catch
        {
            frontend.Dispose();
            throw;
        }

        return frontend;
    }

    /// <summary>The value, or null on a miss.</summary>
    public string? Get(string key) => Call(new JsonObject { ["op"] = "get", ["key"] = key }) is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    public bool Set(string key, string value) => Call(new JsonObject { ["op"] = "set", ["key"] = key, ["value"] = value })!.GetValue<bool>();

    /// <summary>The bridge's delete: true when confirmed or fenced; throws <see cref="PhpException"/> with the bridge's error otherwise.</summary>
    public bool Delete(string key) => Call(new JsonObject { ["op"] = "delete", ["key"] = key })!.GetValue<bool>();

    public void Refresh() => Call(new JsonObject { ["op"] = "refresh" });

    public int ServerOf(string key) => Call(new JsonObject { ["op"] = "server", ["key"] = key })!.GetValue<int>();

    /// <summary>The bridge's copy of the view: freshness, each server's record, its counters.</summary>
    public JsonNode State(int count) => Call(new JsonObject { ["op"] = "state", ["count"] = count })!;

    public JsonNode Call(JsonObject request)
    {
        _process.StandardInput.WriteLine(request.ToJsonString());
        _process.StandardInput.Flush();
        // Read on a thread of its own: this wait blocks its caller's thread, and an asynchronous read needs another
        // of the pool's to complete. In a run of the whole suite (the pool's threads busy) an open went unanswered for
        // 15 s with nothing on stderr, where alone it takes a second; a read that cannot starve rules that cause out.
        var line = Task.Factory.StartNew(() => _process.StandardOutput.ReadLine(), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        if (!line.Wait(AnswerTimeout) || line.Result is null)
        {
            throw new InvalidOperationException($"php did not answer {request["op"]} within {AnswerTimeout.TotalSeconds} s; stderr: {Errors}");
        }

        var answer = JsonNode.Parse(line.Result)!;
        if (!answer["ok"]!.GetValue<bool>())
        {
            throw new PhpException(answer["error"]!.GetValue<string>(), answer["rule"]?.GetValue<string>());
        }

        return answer["result"]!;
    }

    public string Errors
    {
        get
        {
            lock (_errors)
            {
                return _errors.ToString();
            }
        }
    }

    /// <summary>Kills the process (once; a test may end the process early, as a request's end would).</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        finally
        {
            _process.Dispose();
        }
    }
}

/// <summary>An exception the PHP side threw, with its class and message (and the key rule it names, for an invalid key).</summary>
internal sealed class PhpException(string message, string? rule = null) : Exception(message)
{
    /// <summary>The rule an <c>InvalidKeyException</c> names (empty, length, encoding, control, reserved); null for other errors.</summary>
    public string? Rule { get; } = rule;
}
