namespace Ballast;

/// <summary>One server's <c>stats</c>, or why they could not be read.</summary>
/// <param name="Server">The server.</param>
/// <param name="Values">Statistic name to value; null when the server did not answer.</param>
/// <param name="Error">Why the server did not answer; null when it did.</param>
public sealed record ServerStatistics(ServerEndPoint Server, IReadOnlyDictionary<string, string>? Values, string? Error);
