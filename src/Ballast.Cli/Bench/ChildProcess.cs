using System.Diagnostics;
using System.Text;

namespace Ballast.Cli.Bench;

/// <summary>Runs a peer tool with a hard time limit: it is killed (with its children) when the limit passes.</summary>
internal static class ChildProcess
{
    /// <summary>How the tool ended, what it printed, and its CPU time (user and system, its children included, as Linux counts it once reaped).</summary>
    public sealed record Outcome(int ExitCode, string Output, bool TimedOut, TimeSpan Cpu = default);

    public static async Task<Outcome> RunAsync(string fileName, IEnumerable<string> arguments, TimeSpan limit, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = new Process { StartInfo = info };
        var childrenCpuBefore = ProcessCpu.ReapedChildren();
        var output = new StringBuilder();
        var gate = new Lock();
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(limit);
        var timedOut = false;
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            timedOut = true;
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }

            await process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
        }

        // Let the asynchronous readers drain the last lines.
        process.WaitForExit(1000);
        lock (gate)
        {
            return new Outcome(timedOut ? -1 : process.ExitCode, output.ToString(), timedOut, ProcessCpu.ReapedChildren() - childrenCpuBefore);
        }

        void Append(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (gate)
            {
                if (output.Length < 256 * 1024)
                {
                    output.AppendLine(line);
                }
            }
        }
    }
}
