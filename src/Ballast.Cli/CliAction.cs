using System.CommandLine;

namespace Ballast.Cli;

/// <summary>
/// Runs a command's body and turns every failure into one line on standard error, <c>ballast: error: message</c>, and
/// an exit code, so no user ever sees a stack trace and scripts can tell a miss from a usage error from a broken
/// server (<see cref="ExitCodes"/>). Every command's errors take this one form, parse errors included.
/// </summary>
internal static class CliAction
{
    /// <summary>Sets <paramref name="command"/>'s action to <paramref name="body"/>, wrapped in the error mapping.</summary>
    public static void Set(Command command, CliConsole console, Func<ParseResult, CancellationToken, Task<int>> body)
        => command.SetAction((parseResult, cancellationToken) => RunAsync(console, () => body(parseResult, cancellationToken), cancellationToken));

    /// <summary>The start of every error line.</summary>
    public const string ErrorPrefix = "ballast: error: ";

    /// <summary>Writes <c>ballast: error: message</c> on one line: messages with line breaks are joined, so one failure is one line.</summary>
    public static void Fail(CliConsole console, string message)
    {
        var oneLine = string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        console.Error.WriteLine(ErrorPrefix + oneLine);
        console.Error.Flush();
    }

    /// <summary>Runs <paramref name="body"/>, mapping each failure to its line and exit code.</summary>
    public static async Task<int> RunAsync(CliConsole console, Func<Task<int>> body, CancellationToken cancellationToken)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (CliException error)
        {
            Fail(console, error.Message);
            return error.ExitCode;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Fail(console, "interrupted.");
            return ExitCodes.Interrupted;
        }
        catch (MemcachedTlsException error)
        {
            Fail(console, $"TLS failed: {error.Message}");
            return ExitCodes.TlsFailed;
        }
        catch (MemcachedAuthenticationException error)
        {
            Fail(console, $"authentication failed: {error.Message}");
            return ExitCodes.AuthenticationFailed;
        }
        catch (MemcachedException error)
        {
            // Unreachable, timed out, protocol or server error: the library's message already names the server and key.
            Fail(console, error.Message);
            return ExitCodes.ServerError;
        }
        catch (TimeoutException error)
        {
            // The client's first read of the shared view did not finish within the operation timeout.
            Fail(console, $"the pool did not answer in time ({error.Message})");
            return ExitCodes.ServerError;
        }
        catch (ArgumentException error)
        {
            // InvalidCacheKeyException, CacheValueTooLargeException and option range checks: the input is wrong.
            Fail(console, WithoutParameterName(error));
            return ExitCodes.Usage;
        }
        catch (IOException error)
        {
            Fail(console, $"I/O error: {error.Message}");
            return ExitCodes.Internal;
        }
#pragma warning disable CA1031 // The last resort: whatever escaped is still reported on one line, never as a stack trace.
        catch (Exception error)
#pragma warning restore CA1031
        {
            Fail(console, $"unexpected {error.GetType().Name}: {error.Message}");
            return ExitCodes.Internal;
        }
    }

    /// <summary>The message without the " (Parameter 'key')" .NET appends: a CLI user never saw that parameter.</summary>
    public static string WithoutParameterName(ArgumentException error)
        => error.ParamName is { } name ? error.Message.Replace($" (Parameter '{name}')", string.Empty, StringComparison.Ordinal) : error.Message;
}
