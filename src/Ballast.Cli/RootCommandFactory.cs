using System.CommandLine;
using System.CommandLine.Parsing;
using Ballast.Cli.Commands;

namespace Ballast.Cli;

/// <summary>
/// Builds the <c>ballast</c> command tree and runs it. The list of subcommands in <see cref="Create"/> is the one
/// place a command is registered: write <c>Commands/XCommand.cs</c> with a <c>Create(CommonOptions, CliConsole)</c>
/// factory and add one line there.
/// </summary>
internal static class RootCommandFactory
{
    /// <summary>The command the tool installs (<c>dotnet tool install ballast</c>).</summary>
    public const string ToolCommand = "ballast";

    public static RootCommand Create(CliConsole console)
    {
        var common = new CommonOptions();
        var root = new RootCommand($"ballast: read, write and inspect a memcached pool the way Ballast's client sees it. {ExitCodes.Help}");
        common.AddTo(root);

        root.Subcommands.Add(GetCommand.Create(common, console));
        root.Subcommands.Add(SetCommand.Create(common, console));
        root.Subcommands.Add(DeleteCommand.Create(common, console));
        root.Subcommands.Add(StatsCommand.Create(common, console));
        root.Subcommands.Add(LocateCommand.Create(common, console));
        root.Subcommands.Add(MonitorCommand.Create(common, console));
        root.Subcommands.Add(ViewCommand.Create(common, console));
        root.Subcommands.Add(ChaosCommand.Create());
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(SimCommand.Create());
        return root;
    }

    /// <summary>
    /// Parses and runs a command line. Parse errors are reported here, as one line and exit code 2, instead of by
    /// System.CommandLine's default (every error plus the whole help text, exit 1), which scripts cannot tell from a miss.
    /// </summary>
    public static async Task<int> RunAsync(string[] args, CliConsole console, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(console);
        ParseResult parseResult;
        try
        {
            parseResult = Create(console).Parse(args);
        }
#pragma warning disable CA1031 // A parser or validator bug must still end as one line, not a stack trace.
        catch (Exception error)
#pragma warning restore CA1031
        {
            CliAction.Fail(console, $"unexpected {error.GetType().Name} while parsing the command line: {error.Message}");
            return ExitCodes.Internal;
        }

        if (parseResult.Errors.Count > 0)
        {
            CliAction.Fail(console, $"{MostUseful(parseResult.Errors).Message} (see 'ballast --help')");
            return ExitCodes.Usage;
        }

        if (parseResult.Action is System.CommandLine.Help.HelpAction)
        {
            return await WriteHelpAsync(parseResult, console, cancellationToken).ConfigureAwait(false);
        }

        // Commands that do not map their own failures (chaos, bench, demo) get the same mapping here, instead of
        // System.CommandLine's stack trace.
        var configuration = new InvocationConfiguration { Output = console.OutputText, Error = console.Error, ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false };
        return await CliAction.RunAsync(console, () => parseResult.InvokeAsync(configuration, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Help, with the command named as users type it: System.CommandLine names the root command after the entry
    /// assembly (<c>Ballast.Cli</c>), while the tool's command is <c>ballast</c>.
    /// </summary>
    private static async Task<int> WriteHelpAsync(ParseResult parseResult, CliConsole console, CancellationToken cancellationToken)
    {
        using var help = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
        var configuration = new InvocationConfiguration { Output = help, Error = console.Error, ProcessTerminationTimeout = null };
        var exitCode = await parseResult.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
        await console.OutputText.WriteAsync(help.ToString().Replace(RootCommand.ExecutableName + " ", ToolCommand + " ", StringComparison.Ordinal)).ConfigureAwait(false);
        return exitCode;
    }

    /// <summary>
    /// The one error worth the single line: for <c>ballast frob</c> that is "unrecognized 'frob'", which says what is
    /// wrong, not the "required command was not provided" that comes first and follows from it.
    /// </summary>
    private static ParseError MostUseful(IReadOnlyList<ParseError> errors)
        => errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal)) ?? errors[0];
}
