namespace Ballast.SharedView;

/// <summary>What one <see cref="ViewProtocol.RecoverLostAsync"/> did.</summary>
/// <param name="Recovered">The servers it flushed and readmitted.</param>
/// <param name="UnderWayElsewhere">
/// Another frontend held the recovery lock, so its recovery is under way: a first read waits for it rather than give up
/// on the servers it recovers.
/// </param>
internal readonly record struct LostRecovery(IReadOnlyList<int> Recovered, bool UnderWayElsewhere)
{
    /// <summary>Nothing recovered, and no recovery seen elsewhere.</summary>
    public static LostRecovery None => new([], false);

    /// <summary>Another frontend holds the lock.</summary>
    public static LostRecovery HeldElsewhere => new([], true);
}
