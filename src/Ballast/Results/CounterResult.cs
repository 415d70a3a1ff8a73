namespace Ballast;

/// <summary>The answer to an increment or decrement.</summary>
/// <param name="Found">False when the counter did not exist and no initial value was given.</param>
/// <param name="Value">The counter's value after the operation.</param>
public readonly record struct CounterResult(bool Found, ulong Value);
