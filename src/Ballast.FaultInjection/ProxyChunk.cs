namespace Ballast.FaultInjection;

/// <summary>Bytes received on one side of a proxied connection, waiting to be sent on the other.</summary>
/// <param name="Buffer">A pooled array holding the bytes; returned to the pool once sent or dropped.</param>
/// <param name="Length">How many bytes of <paramref name="Buffer"/> are used.</param>
/// <param name="ReceivedAt">When they were received, as a <see cref="TimeProvider"/> timestamp.</param>
/// <param name="Delay">How long after <paramref name="ReceivedAt"/> they may be sent.</param>
internal readonly record struct ProxyChunk(byte[] Buffer, int Length, long ReceivedAt, TimeSpan Delay);
