using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Ballast.Cli.Chaos;

/// <summary>
/// One php-cli frontend of a chaos run (<c>--php-frontends</c>): <c>php-chaos-worker.php</c> running the same
/// cache-aside workload through the PHP bridge (<c>php/ballast.php</c>), or through bare php-memcache with its default
/// failover (<c>--php-bare</c>, the control). It asks this process for database reads and writes, and reports every
/// read and write, timed on the run's clock, into the run's history, where the same staleness checker judges them.
/// PHP frontends connect to the servers directly (not through proxies): kill and pause reach them, a partition cuts
/// only a .NET frontend's links.
/// </summary>
internal sealed class PhpChaosFrontend : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _errors = new();

    private PhpChaosFrontend(Process process)
    {
        _process = process;
        _process.ErrorDataReceived += (_, e) =>
        {
            lock (_errors)
            {
                if (e.Data is not null && _errors.Length < 4096)
                {
                    _errors.AppendLine(e.Data);
                }
            }
        };
        _process.BeginErrorReadLine();
    }

    /// <summary>Writes the worker and the bridge, embedded in this tool, into <paramref name="directory"/>.</summary>
    public static void WriteScripts(string directory)
    {
        foreach (var name in new[] { "php-chaos-worker.php", "ballast.php" })
        {
            using var resource = Assembly.GetExecutingAssembly().GetManifestResourceStream("Ballast.Cli.Chaos." + name)
                ?? throw new InvalidOperationException($"The tool was built without its embedded {name}.");
            using var file = File.Create(Path.Combine(directory, name));
            resource.CopyTo(file);
        }
    }

    /// <summary>Starts php with the worker in <paramref name="directory"/> and sends it its configuration.</summary>
    /// <exception cref="InvalidOperationException">php cannot be started, or the clocks cannot be shared.</exception>
    public static PhpChaosFrontend Start(string directory, ChaosOptions options, IEnumerable<ServerEndPoint> servers, int frontend, RunClock clock)
    {
        if (Stopwatch.Frequency != 1_000_000_000)
        {
            throw new InvalidOperationException("PHP frontends time their operations with CLOCK_MONOTONIC in ns (hrtime), which this platform's Stopwatch is not: they run on Linux only.");
        }

        var start = PhpStartInfo(Path.Combine(directory, "php-chaos-worker.php"), Path.Combine(directory, "ballast.php"));
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("php did not start.");
        }
        catch (System.ComponentModel.Win32Exception error)
        {
            throw new InvalidOperationException($"--php-frontends needs php-cli with php-memcache (and php-memcached for --php-extension memcached) on the PATH: {error.Message}", error);
        }

        var worker = new PhpChaosFrontend(process);
        var config = new JsonObject
        {
            ["servers"] = string.Join(',', servers.Select(s => s.ToString())),
            ["extension"] = options.PhpExtension,
            ["distribution"] = options.PhpExtension == "memcached" ? "ketama" : "pecl-consistent",
            ["bare"] = options.PhpBare,
            ["bound_ms"] = (int)options.Bound.TotalMilliseconds,
            ["timeout_ms"] = (int)options.OperationTimeout.TotalMilliseconds,
            ["confirm_timeout_ms"] = 300,
            ["retry_interval_s"] = Math.Max(1, (int)options.RehashRetryInterval.TotalSeconds),
            ["seed"] = HashCode.Combine(options.Seed, frontend) & 0x7FFFFFFF,
            ["keys"] = options.Keys,
            ["zipf"] = options.ZipfExponent,
            ["read_ratio"] = options.ReadRatio,
            ["get_ratio"] = options.PhpGetRatio,
            ["think_us"] = (int)(options.ThinkTime.TotalMilliseconds * 1000),
            ["duration_ms"] = options.Duration.TotalMilliseconds,
            ["start_ns"] = clock.StartTimestamp,
        };
        process.StandardInput.WriteLine(config.ToJsonString());
        process.StandardInput.Flush();
        return worker;
    }

    /// <summary>php-cli running <paramref name="script"/> with the bridge's path, every stream redirected, errors to stderr.</summary>
    public static ProcessStartInfo PhpStartInfo(string script, string bridge)
    {
        var start = new ProcessStartInfo("php")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
        };
        foreach (var argument in new[] { "-d", "display_errors=stderr", script, bridge })
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }

    /// <summary>
    /// Serves the worker's database requests and records its operations as frontend <paramref name="frontend"/>, until
    /// it reports it is done. Throws when it dies or breaks the protocol, with its standard error.
    /// </summary>
    public async Task RunAsync(int frontend, VersionedDatabase db, HistoryRecorder.WorkerLog log, RunClock clock, CancellationToken ct)
    {
        var output = _process.StandardOutput;
        while (await output.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
        {
            JsonNode message;
            try
            {
                message = JsonNode.Parse(line)!;
            }
            catch (JsonException)
            {
                throw Failure($"printed '{Shorten(line)}'");
            }

            switch (message["t"]?.GetValue<string>())
            {
                case "db":
                    var key = message["k"]!.GetValue<int>();
                    var version = message["op"]!.GetValue<string>() == "write" ? db.Write(key) : db.Read(key);
                    await _process.StandardInput.WriteLineAsync(version.ToString(CultureInfo.InvariantCulture)).ConfigureAwait(false);
                    await _process.StandardInput.FlushAsync(ct).ConfigureAwait(false);
                    break;
                case "r":
                    log.Read(new ReadRecord(frontend, message["k"]!.GetValue<int>(), message["v"]!.GetValue<long>(), message["s"]!.GetValue<double>(), message["e"]!.GetValue<double>(), message["h"]!.GetValue<bool>(), "php-" + (message["p"]?.GetValue<string>() ?? "read")));
                    break;
                case "w":
                    log.Write(new WriteRecord(frontend, message["k"]!.GetValue<int>(), message["v"]!.GetValue<long>(), message["s"]!.GetValue<double>(), message["e"]!.GetValue<double>(), message["f"]!.GetValue<bool>()));
                    break;
                case "err":
                    log.AppError(new PhpFrontendException(message["type"]!.GetValue<string>(), message["m"]!.GetValue<string>()));
                    break;
                case "hello":
                    // Both clocks are CLOCK_MONOTONIC: the worker's idea of "now" must be this process's.
                    var skew = Math.Abs(message["ms"]!.GetValue<double>() - clock.NowMs);
                    if (skew > 1000)
                    {
                        throw Failure($"reports a run clock {skew:0} ms away from this process's: its hrtime is not this Stopwatch's clock");
                    }

                    break;
                case "done":
                    return;
                default:
                    throw Failure($"printed '{Shorten(line)}'");
            }
        }

        throw Failure("ended before its run did");
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.StandardInput.Close();
                if (!_process.WaitForExit(2000))
                {
                    _process.Kill(entireProcessTree: true);
                }
            }

            await _process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (Exception error) when (error is InvalidOperationException or TimeoutException)
        {
            // Already gone, or will be reaped with this process.
        }
        finally
        {
            _process.Dispose();
        }
    }

    private InvalidOperationException Failure(string what)
    {
        string errors;
        lock (_errors)
        {
            errors = _errors.ToString().Trim();
        }

        return new InvalidOperationException($"A PHP chaos frontend {what}; its standard error: {(errors.Length == 0 ? "(empty)" : errors)}");
    }

    private static string Shorten(string text) => text.Length > 200 ? text[..200] + "..." : text;
}

/// <summary>An exception a PHP frontend's application code saw, recorded under its PHP class name.</summary>
internal sealed class PhpFrontendException(string type, string message) : Exception($"{type}: {message}")
{
    /// <summary>The PHP exception's class.</summary>
    public string PhpType { get; } = type;
}
