namespace Ballast.Cli.Monitor;

/// <summary>The status serialized as one server-sent event, and the change that makes it old.</summary>
/// <param name="Bytes">The event, <c>event: status</c> and its JSON data line, ready to write.</param>
/// <param name="NextChange">Completes when the status changes (<see cref="PoolMonitor.NextChange"/> when it was taken).</param>
internal sealed record StatusEvent(byte[] Bytes, Task NextChange);
