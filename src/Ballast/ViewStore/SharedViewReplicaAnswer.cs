namespace Ballast;

/// <summary>What one replica answered for one record (<see cref="ISharedViewStore.ReadAsync"/>).</summary>
/// <param name="Answered">False when the replica did not answer.</param>
/// <param name="Record">The record, or null when the replica holds none.</param>
public readonly record struct SharedViewReplicaAnswer(bool Answered, SharedViewRecord? Record)
{
    /// <summary>The replica did not answer.</summary>
    public static SharedViewReplicaAnswer NoAnswer => new(false, null);
}
