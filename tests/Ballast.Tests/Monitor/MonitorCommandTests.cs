using System.Text;
using Ballast.Cli;
using Ballast.Tests.Cli;
using Ballast.Tests.Support;

namespace Ballast.Tests.Monitor;

/// <summary><c>ballast monitor</c> as a command: it serves until its token is cancelled (what SIGTERM and Ctrl+C do in Program.cs), then stops cleanly.</summary>
public sealed class MonitorCommandTests
{
    [Fact]
    public async Task The_command_serves_until_cancelled_then_stops_gracefully_with_exit_code_0()
    {
        await using var servers = await MemcachedServers.StartAsync(3);
        using var stdout = new BlockingOutput();
        using var stderr = new StringWriter();
        var console = new CliConsole(new MemoryStream(), isInputRedirected: false, stdout, stderr);
        using var stop = new CancellationTokenSource();
        var run = RootCommandFactory.RunAsync(["monitor", "--servers", string.Join(",", servers.EndPoints), "--listen", "127.0.0.1:0"], console, stop.Token);

        var firstLine = await stdout.FirstLineAsync(TimeSpan.FromSeconds(15));
        Assert.StartsWith("ballast monitor: http://127.0.0.1:", firstLine, StringComparison.Ordinal);
        var address = new Uri(firstLine["ballast monitor: ".Length..].Split(' ')[0]);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var healthy = false;
        for (var attempt = 0; attempt < 100 && !healthy; attempt++)
        {
            using var response = await http.GetAsync(new Uri(address, "healthz"));
            healthy = response.IsSuccessStatusCode;
            await Task.Delay(100);
        }

        Assert.True(healthy, "/healthz never said healthy");

        // An open event stream must not hold the stop back.
        using var events = await http.GetAsync(new Uri(address, "api/events"), HttpCompletionOption.ResponseHeadersRead);
        await stop.CancelAsync();
        var exitCode = await run.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(ExitCodes.Success, exitCode);
        Assert.Contains("ballast monitor: stopped", stdout.Text, StringComparison.Ordinal);
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync(new Uri(address, "healthz")));
    }

    [Theory]
    [InlineData("--listen", "nowhere", "--listen")]
    [InlineData("--view", "zookeeper", "--view")]
    [InlineData("--poll-interval", "5", "--poll-interval")]
    [InlineData("--etcd-endpoints", "http://127.0.0.1:2379", "--etcd-endpoints needs --view etcd")]
    [InlineData("--bound", "5", "--bound")]
    [InlineData("--pool-name", "has space", "PoolName")]
    public async Task A_bad_option_is_a_one_line_usage_error(string option, string value, string message)
    {
        var run = await CliHarness.RunAsync("monitor", "--servers", "127.0.0.1:1", option, value);
        CliHarness.AssertOneLineError(run, ExitCodes.Usage, message);
    }

    [Fact]
    public async Task Help_names_the_endpoints_and_the_view_store_options()
    {
        var run = await CliHarness.RunAsync("monitor", "--help");
        Assert.Equal(0, run.ExitCode);
        foreach (var text in new[] { "/api/status", "/api/events", "/metrics", "/healthz", "--listen", "--view", "--etcd-endpoints", "--bound", "--pool-name", "exactly once" })
        {
            Assert.Contains(text, run.Text, StringComparison.Ordinal);
        }
    }

    /// <summary>A standard output the test can wait on: the command prints its address once it listens.</summary>
    private sealed class BlockingOutput : MemoryStream
    {
        private readonly TaskCompletionSource<string> _firstLine = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly StringBuilder _text = new();
        private readonly Lock _lock = new();

        public string Text
        {
            get
            {
                lock (_lock)
                {
                    return _text.ToString();
                }
            }
        }

        public Task<string> FirstLineAsync(TimeSpan timeout) => _firstLine.Task.WaitAsync(timeout);

        public override void Write(byte[] buffer, int offset, int count)
        {
            lock (_lock)
            {
                _text.Append(Encoding.UTF8.GetString(buffer, offset, count));
                var all = _text.ToString();
                if (all.IndexOf('\n', StringComparison.Ordinal) is var end and >= 0)
                {
                    _firstLine.TrySetResult(all[..end]);
                }
            }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Write(buffer, offset, count);
            return Task.CompletedTask;
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Write(buffer.ToArray(), 0, buffer.Length);
            return ValueTask.CompletedTask;
        }
    }
}
