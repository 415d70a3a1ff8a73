using System.Diagnostics;
using System.Text;
using Ballast.Cli;
using Ballast.Tests.Support;

namespace Ballast.Tests.Cli;

/// <summary>
/// What a hostile server (or a value someone stored) can do to the terminal of the person who runs the CLI: nothing.
/// The built CLI runs under a pseudo-terminal (util-linux <c>script</c>), where its standard output is a terminal, as a
/// person's is; control bytes reach it escaped (<c>\x1B</c>), and <c>--raw</c> keeps them for whoever asks.
/// </summary>
public sealed class TerminalOutputTests
{
    private const string Hostile = "\u001b]0;pwned\u0007\u001b[2J\u001b[31mred\rover\u009b1m";

    [Fact]
    public async Task Get_escapes_control_bytes_on_a_terminal_and_raw_keeps_them()
    {
        await using var servers = await MemcachedServers.StartAsync(1);
        await using (var client = new MemcachedClient(servers.Options()))
        {
            Assert.True((await client.SetAsync("hostile", Hostile)).IsStored);
        }

        var shown = await RunOnTerminalAsync("get", "hostile", "--servers", servers[0].EndPoint);
        AssertNoControlBytes(shown);
        Assert.Contains("\\x1B]0;pwned\\x07", Encoding.UTF8.GetString(shown), StringComparison.Ordinal);
        Assert.Contains("red\\x0Dover", Encoding.UTF8.GetString(shown), StringComparison.Ordinal);

        var raw = await RunOnTerminalAsync("get", "hostile", "--raw", "--servers", servers[0].EndPoint);
        Assert.Contains((byte)0x1B, raw);
    }

    [Fact]
    public async Task Stats_escapes_control_bytes_a_server_sends_on_a_terminal()
    {
        await using var server = new MisbehavingServer(request => new MisbehavingServer.Reply(request.Command == "stats"
            ? "STAT pid 1\r\nSTAT version 1.6\u001b]0;pwned\u0007\u001b[2J\r\nSTAT \u001b[8mhidden 2\r\nEND\r\n"
            : MisbehavingServer.Echo(request)));

        var shown = await RunOnTerminalAsync("stats", "--servers", server.EndPoint.ToString());

        AssertNoControlBytes(shown);
        Assert.Contains("1.6\\x1B]0;pwned\\x07\\x1B[2J", Encoding.UTF8.GetString(shown), StringComparison.Ordinal);
    }

    /// <summary>No byte a terminal acts on: C0 controls other than the line ends the terminal itself writes, DEL, and C1 controls (U+0080-U+009F).</summary>
    private static void AssertNoControlBytes(byte[] output)
    {
        // .NET's console itself switches a terminal's keypad to application mode and back (terminfo's keypad_xmit and
        // keypad_local) when it starts and exits: those are the runtime's, not the server's.
        var text = Encoding.UTF8.GetString(output)
            .Replace("\u001b[?1h\u001b=", string.Empty, StringComparison.Ordinal)
            .Replace("\u001b[?1l\u001b>", string.Empty, StringComparison.Ordinal);
        var controls = text.Where(c => (c < ' ' && c is not ('\n' or '\r')) || c is >= '\u007f' and <= '\u009f').Select(c => $"0x{(int)c:X2}").ToArray();
        Assert.True(controls.Length == 0, $"control characters reached the terminal: {string.Join(' ', controls)} in: {text.Replace("\u001b", "<ESC>", StringComparison.Ordinal)}");
    }

    /// <summary>Runs the built CLI with its standard output on a pseudo-terminal; returns what the terminal received.</summary>
    private static async Task<byte[]> RunOnTerminalAsync(params string[] args)
    {
        var command = string.Join(' ', new[] { "dotnet", CliProcessTests.CliDll() }.Concat(args).Select(Quote));
        var start = new ProcessStartInfo("script") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "-q", "-e", "-c", command, "/dev/null" })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        process.StandardInput.Close();
        var output = new MemoryStream();
        await process.StandardOutput.BaseStream.CopyToAsync(output, timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == ExitCodes.Success, $"exit {process.ExitCode}: {Encoding.UTF8.GetString(output.ToArray())}{await process.StandardError.ReadToEndAsync()}");
        return output.ToArray();
    }

    private static string Quote(string arg) => "'" + arg.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
