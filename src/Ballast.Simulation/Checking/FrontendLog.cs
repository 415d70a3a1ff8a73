using Microsoft.Extensions.Logging;

namespace Ballast.Simulation.Checking;

/// <summary>
/// The frontends' own log lines (Ballast's ILogger events: fences, failbacks, recoveries, reads turned into misses),
/// kept with their virtual time for <c>ballast sim --trace</c>. Not part of the history's digest: the log's wording may
/// change without the behaviour changing.
/// </summary>
internal sealed class FrontendLog(Func<long> now, int frontend, List<(long At, string Line)> lines) : ILoggerFactory, ILoggerProvider, ILogger
{
    public void AddProvider(ILoggerProvider provider)
    {
    }

    public ILogger CreateLogger(string categoryName) => this;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        => lines.Add((now(), $"frontend {frontend} log {logLevel}: {formatter(state, exception)}"));

    public void Dispose()
    {
    }
}
