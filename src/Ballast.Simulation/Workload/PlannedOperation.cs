namespace Ballast.Simulation.Workload;

/// <summary>
/// One operation of a worker, drawn from the seed before the run: what, on which key, after how long a pause, and the
/// knobs that make it interesting (a slow factory or refill, a caller that cancels, a short time to live).
/// </summary>
/// <param name="Kind">The API.</param>
/// <param name="Key">The key index in its key space (data, counter or distributed-cache keys).</param>
/// <param name="Think">The pause before it, in ticks.</param>
/// <param name="Slow">How long its factory or refill takes, in ticks (0: at once).</param>
/// <param name="CancelAfter">When its caller gives up, in ticks; -1 never.</param>
/// <param name="TimeToLive">Its time to live in seconds; 0 none.</param>
/// <param name="Other">
/// A second key (get-many), or a variant bit (sliding expiry, refill under lock); for a batch call, the other data keys
/// it takes as a bit mask (bit k: key k).
/// </param>
internal readonly record struct PlannedOperation(OperationKind Kind, int Key, long Think, long Slow, long CancelAfter, int TimeToLive, int Other);
