using System.Text;
using System.Text.Json;
using Ballast.Cli;
using Ballast.Tests.Support;

namespace Ballast.Tests.Cli;

/// <summary>The CLI's commands, run in-process against real memcached servers.</summary>
public sealed class CliCommandTests : IAsyncLifetime
{
    private MemcachedServers _servers = null!;

    private string ServerList => string.Join(',', _servers.EndPoints);

    public async Task InitializeAsync()
    {
        _servers = await MemcachedServers.StartAsync(3);

        // Adopted as an operator would: a client started after a one-shot `set` then finds records and flushes nothing.
        Assert.Equal(ExitCodes.Success, (await CliHarness.RunAsync("view", "init", "--servers", ServerList)).ExitCode);
    }

    public async Task DisposeAsync() => await _servers.DisposeAsync();

    private Task<CliRun> Run(params string[] args) => CliHarness.RunAsync(null, [.. args, "--servers", ServerList, "--timeout", "500"]);

    private Task<CliRun> RunWithInput(byte[] input, params string[] args) => CliHarness.RunAsync(input, [.. args, "--servers", ServerList, "--timeout", "500"]);

    [Fact]
    public async Task Set_from_standard_input_then_get_returns_the_exact_bytes()
    {
        // Every byte value, then a trailing CR LF that must not be trimmed.
        var value = Enumerable.Range(0, 256).Select(i => (byte)i).Concat("\r\n"u8.ToArray()).ToArray();

        var set = await RunWithInput(value, "set", "binary-key");
        var get = await Run("get", "binary-key");

        Assert.Equal(ExitCodes.Success, set.ExitCode);
        Assert.Empty(set.Output);
        Assert.Empty(set.Error);
        Assert.Equal(ExitCodes.Success, get.ExitCode);
        Assert.Equal(value, get.Output);
        Assert.Empty(get.Error);
    }

    [Fact]
    public async Task Set_with_a_value_argument_and_ttl_stores_it_and_get_adds_no_newline()
    {
        var set = await Run("set", "greeting", "héllo", "--ttl", "300");
        var get = await Run("get", "greeting");

        Assert.Equal(ExitCodes.Success, set.ExitCode);
        Assert.Equal("héllo", get.Text);
        await using var client = new MemcachedClient(_servers.Options());
        Assert.Equal("héllo", await client.GetStringAsync("greeting"));
    }

    [Fact]
    public async Task Set_reads_an_empty_standard_input_as_an_empty_value()
    {
        var set = await RunWithInput([], "set", "empty-key");
        var get = await Run("get", "empty-key");

        Assert.Equal(ExitCodes.Success, set.ExitCode);
        Assert.Equal(ExitCodes.Success, get.ExitCode);
        Assert.Empty(get.Output);
    }

    [Fact]
    public async Task Set_without_value_on_a_terminal_is_a_usage_error()
    {
        var run = await Run("set", "k");

        CliHarness.AssertOneLineError(run, ExitCodes.Usage, "standard input is a terminal");
    }

    [Fact]
    public async Task Get_of_a_missing_key_prints_miss_on_stderr_and_exits_1()
    {
        var run = await Run("get", "never-set");

        Assert.Equal(ExitCodes.NotFound, run.ExitCode);
        Assert.Empty(run.Output);
        Assert.Equal(["miss: never-set"], run.ErrorLines);
    }

    [Fact]
    public async Task Delete_exits_0_when_deleted_then_1_when_not_found()
    {
        await Run("set", "doomed", "x");

        var first = await Run("delete", "doomed");
        var second = await Run("delete", "doomed");
        var get = await Run("get", "doomed");

        Assert.Equal(ExitCodes.Success, first.ExitCode);
        Assert.Empty(first.Error);
        Assert.Equal(ExitCodes.NotFound, second.ExitCode);
        Assert.Equal(["not found: doomed"], second.ErrorLines);
        Assert.Equal(ExitCodes.NotFound, get.ExitCode);
    }

    [Theory]
    [InlineData("ketama", KeyDistribution.Ketama, PeclHashFunction.Crc32)]
    [InlineData("pecl-consistent", KeyDistribution.PeclConsistent, PeclHashFunction.Fnv)]
    [InlineData("modula", KeyDistribution.Modula, PeclHashFunction.Crc32)]
    public async Task Locate_prints_key_tab_server_lines_that_agree_with_the_client(string name, KeyDistribution distribution, PeclHashFunction hash)
    {
        var keys = Enumerable.Range(0, 40).Select(i => $"user:{i}").ToArray();

        var run = await Run(["locate", .. keys, "--distribution", name, "--hash", hash.ToString().ToLowerInvariant()]);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        await using var client = new MemcachedClient(_servers.Options(o => { o.Distribution = distribution; o.PeclHash = hash; }));
        var expected = keys.Select(k => $"{k}\t{client.Locate(k)}\n");
        Assert.Equal(string.Concat(expected), run.Text);
        Assert.True(keys.Select(k => client.Locate(k)).Distinct().Count() > 1, "40 keys should spread over more than one server");
    }

    [Fact]
    public async Task Locate_json_is_an_array_of_key_and_server()
    {
        var run = await Run("locate", "--json", "a", "b", "c");

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        await using var client = new MemcachedClient(_servers.Options());
        using var document = JsonDocument.Parse(run.Output);
        var entries = document.RootElement.EnumerateArray().ToList();
        Assert.Equal(3, entries.Count);
        foreach (var (entry, key) in entries.Zip(["a", "b", "c"]))
        {
            Assert.Equal(key, entry.GetProperty("key").GetString());
            Assert.Equal(client.Locate(key).ToString(), entry.GetProperty("server").GetString());
        }
    }

    [Fact]
    public async Task Locate_reads_keys_from_standard_input_one_per_line()
    {
        var run = await RunWithInput(Encoding.UTF8.GetBytes("alpha\r\nbeta\n\ngamma\n"), "locate");

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        await using var client = new MemcachedClient(_servers.Options());
        Assert.Equal(
            string.Concat(new[] { "alpha", "beta", "gamma" }.Select(k => $"{k}\t{client.Locate(k)}\n")),
            run.Text);
    }

    [Fact]
    public async Task Locate_needs_no_server()
    {
        var port = CliHarness.UnusedPort();

        var run = await CliHarness.RunAsync("locate", "k", "--servers", $"127.0.0.1:{port}");

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.Equal($"k\t127.0.0.1:{port}\n", run.Text);
    }

    [Fact]
    public async Task Stats_prints_each_server_with_sorted_rows()
    {
        var run = await Run("stats");

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        var lines = run.Text.Split('\n');
        foreach (var server in _servers.EndPoints)
        {
            var header = Array.IndexOf(lines, server.ToString());
            Assert.True(header >= 0, $"no header line for {server}");
            var names = lines.Skip(header + 1).TakeWhile(l => l.StartsWith("  ", StringComparison.Ordinal)).Select(l => l.Trim().Split(' ')[0]).ToList();
            Assert.Contains("curr_connections", names);
            Assert.Equal(names.Order(StringComparer.Ordinal), names);
        }
    }

    [Fact]
    public async Task Stats_shows_an_unreachable_servers_error_and_succeeds_while_another_answers()
    {
        var dead = $"127.0.0.1:{CliHarness.UnusedPort()}";

        var run = await CliHarness.RunAsync("stats", "--servers", $"{_servers.EndPoints.First()},{dead}", "--timeout", "500");

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        Assert.Contains("curr_connections", run.Text, StringComparison.Ordinal);
        Assert.Contains($"{dead}\n  error: ", run.Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("get", "has space")]
    [InlineData("set", "has space", "v")]
    [InlineData("delete", "has space")]
    [InlineData("locate", "ok", "has space")]
    public async Task An_invalid_key_is_a_one_line_usage_error(params string[] args)
    {
        var run = await Run(args);

        CliHarness.AssertOneLineError(run, ExitCodes.Usage, "Invalid key 'has space'");
        Assert.DoesNotContain("Parameter", run.Error, StringComparison.Ordinal);
        Assert.Empty(run.Output);
    }

    [Theory]
    [InlineData("--servers", "host:notaport")]
    [InlineData("--servers", ",")]
    [InlineData("--distribution", "random")]
    [InlineData("--hash", "md5")]
    [InlineData("--timeout", "fast")]
    public async Task A_bad_shared_option_is_a_one_line_usage_error(string option, string value)
    {
        var run = await CliHarness.RunAsync("get", "k", option, value);

        CliHarness.AssertOneLineError(run, ExitCodes.Usage, option);
    }

    [Fact]
    public async Task A_server_listed_twice_is_a_usage_error()
    {
        var one = _servers.EndPoints.First().ToString();

        var run = await CliHarness.RunAsync("get", "k", "--servers", $"{one},{one}");

        CliHarness.AssertOneLineError(run, ExitCodes.Usage, "listed twice");
    }

    [Theory]
    [InlineData("frob")]
    [InlineData("get")]
    [InlineData("get", "a", "b")]
    [InlineData("set", "k", "v", "--ttl", "-1")]
    public async Task A_malformed_command_line_is_a_one_line_usage_error(params string[] args)
    {
        var run = await CliHarness.RunAsync(args);

        CliHarness.AssertOneLineError(run, ExitCodes.Usage);
    }

    [Fact]
    public async Task Help_lists_the_commands_and_the_exit_codes()
    {
        var run = await CliHarness.RunAsync("--help");

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        foreach (var command in new[] { "get", "set", "delete", "stats", "locate", "Exit codes" })
        {
            Assert.Contains(command, run.Text, StringComparison.Ordinal);
        }
    }
}
