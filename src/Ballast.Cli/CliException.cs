namespace Ballast.Cli;

/// <summary>
/// A command's way to stop with a message and an exit code. Thrown rather than returned so helpers deep in a command
/// (reading standard input, checking a server) can fail without every caller threading codes back up.
/// </summary>
internal sealed class CliException : Exception
{
    public CliException()
    {
    }

    public CliException(string message)
        : this(ExitCodes.Usage, message)
    {
    }

    public CliException(string message, Exception innerException)
        : base(message, innerException) => ExitCode = ExitCodes.Usage;

    public CliException(int exitCode, string message)
        : base(message) => ExitCode = exitCode;

    public int ExitCode { get; } = ExitCodes.Usage;
}
