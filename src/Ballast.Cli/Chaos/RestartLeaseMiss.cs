using System.Globalization;

namespace Ballast.Cli.Chaos;

/// <summary>
/// A <see cref="FaultKind.Restart"/> window whose lease never reached the reads after the restart, and why: so that a
/// run with no read on the after-restart path says what stood in the way instead of only that nothing happened.
/// </summary>
/// <param name="WindowStartMs">When the window began, ms into the run.</param>
/// <param name="Server">The server restarted.</param>
/// <param name="Frontend">The frontend (R) whose lease was to outlive the restart.</param>
/// <param name="Stage"><c>lease</c>: no lease was taken before the kill (a plain kill followed); <c>readmission</c>: the lease was taken, but R did not have the server up again in time to refill under it and read.</param>
/// <param name="Reason">
/// The last attempt's outcome: <c>server-down</c> (R had the server down or fenced), <c>view-stale</c> (R's shared view was
/// not fresh, so its read was a miss without a lease), <c>lease-held</c> (a miss, and the key's placeholder on the
/// server: another caller held its refill lease), <c>no-lease</c> (a miss, and no placeholder on the server: the read
/// did not get there, an error the client answers as a miss), <c>hit</c> (the key answered a value even after it was
/// deleted to make room), <c>no-cas</c> (a lease was won, but the server held no placeholder of the key: the lease was
/// another server's, a gutter's), <c>error</c> (the read threw), <c>not-readmitted</c> (the readmission wait ran out).
/// </param>
/// <param name="Detail">What the last attempt saw, in words.</param>
/// <param name="Attempts">Reads tried before the wait ran out (0 when R never had the server up to try).</param>
public sealed record RestartLeaseMiss(double WindowStartMs, int Server, int Frontend, string Stage, string Reason, string Detail, int Attempts)
{
    /// <inheritdoc />
    public override string ToString()
        => string.Create(CultureInfo.InvariantCulture, $"restart at {WindowStartMs / 1000:0.0} s of server {Server}, frontend {Frontend}'s lease ({Stage}, {Attempts} attempts): {Reason}: {Detail}");
}
