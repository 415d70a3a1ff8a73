namespace Ballast.Simulation.Server;

/// <summary>What a simulated server did for one command, as the simulation's history records it.</summary>
/// <param name="Command">The command word (<c>mg</c>, <c>ms</c>, <c>md</c>, <c>ma</c>, <c>flush_all</c>...).</param>
/// <param name="Key">The key, for keyed commands.</param>
/// <param name="Status">The answer's code (<c>VA</c>, <c>HD</c>, <c>EN</c>, <c>NS</c>, <c>OK</c>...).</param>
/// <param name="Number">For <c>ma</c>, the counter value it handed out; for <c>flush_all</c>, its delay.</param>
/// <param name="Value">For <c>mg</c> and <c>ms</c>, the item's value (for the trace of the view's records and locks).</param>
internal readonly record struct ServedCommand(string Command, string? Key, string Status, ulong Number, byte[]? Value = null);
