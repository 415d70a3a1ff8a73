namespace Ballast.Cli;

/// <summary>
/// The streams a command talks through. Standard output is a byte stream, not a <see cref="TextWriter"/>, because
/// <c>get</c> must write a value's bytes exactly as stored; tests pass memory streams to run the CLI in-process.
/// </summary>
internal sealed class CliConsole
{
    private static readonly System.Text.UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);

    public CliConsole(Stream input, bool isInputRedirected, Stream output, TextWriter error, bool isOutputTerminal = false)
    {
        Input = input;
        IsInputRedirected = isInputRedirected;
        IsOutputTerminal = isOutputTerminal;
        Output = output;
        Error = error;

        // AutoFlush keeps text and raw bytes written to the same stream in the order they were written.
        OutputText = new StreamWriter(output, Utf8NoBom, bufferSize: 4096, leaveOpen: true) { AutoFlush = true, NewLine = "\n" };
    }

    /// <summary>The process's own standard streams.</summary>
    public static CliConsole System()
        => new(Console.OpenStandardInput(), Console.IsInputRedirected, Console.OpenStandardOutput(), Console.Error, isOutputTerminal: !Console.IsOutputRedirected);

    /// <summary>Standard input as bytes (values for <c>set</c>, keys for <c>locate</c>).</summary>
    public Stream Input { get; }

    /// <summary>
    /// False when standard input is a terminal: commands that fall back to reading it refuse instead of waiting
    /// silently for a user who does not know they are expected to type.
    /// </summary>
    public bool IsInputRedirected { get; }

    /// <summary>
    /// True when standard output is a terminal: what a server sent is then shown with its control characters escaped
    /// (<see cref="TerminalText"/>), unless <c>--raw</c>; a pipe gets the bytes as they are.
    /// </summary>
    public bool IsOutputTerminal { get; }

    /// <summary>Standard output as bytes.</summary>
    public Stream Output { get; }

    /// <summary>Standard output as UTF-8 text ('\n' line ends on every platform, so output is the same everywhere).</summary>
    public TextWriter OutputText { get; }

    /// <summary>Standard error: one line per failure, <c>ballast: message</c>.</summary>
    public TextWriter Error { get; }
}
