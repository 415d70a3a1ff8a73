namespace Ballast.Simulation.Faults;

/// <summary>One fault of a world, drawn from the seed: what, where, from when to when (ticks of virtual time).</summary>
/// <param name="Kind">The fault.</param>
/// <param name="Server">The server it hits.</param>
/// <param name="Frontend">The frontend whose link it hits (partition, slow, reset, blip); -1 for every frontend.</param>
/// <param name="Start">When it begins.</param>
/// <param name="End">When it is lifted (equal to <paramref name="Start"/> for instants).</param>
/// <param name="Direction">For a one-way partition: 0 holds frontend to server, 1 server to frontend.</param>
internal readonly record struct PlannedFault(FaultKind Kind, int Server, int Frontend, long Start, long End, int Direction)
{
    public override string ToString()
    {
        var where = Kind switch
        {
            FaultKind.Blip => $"frontend {Frontend}, every link",
            _ when Frontend >= 0 => $"server {Server}, frontend {Frontend}'s link{(Kind == FaultKind.OneWayPartition ? (Direction == 0 ? " (to the server)" : " (from the server)") : string.Empty)}",
            _ => $"server {Server}",
        };
        return FormattableString.Invariant($"{Start / 10_000.0,9:0.0}-{End / 10_000.0,9:0.0} ms  {Kind,-15}  {where}");
    }
}
