namespace Ballast;

/// <summary>The answer to a store: its status and, when stored, the item's new CAS unique.</summary>
/// <param name="Status">What happened.</param>
/// <param name="Cas">The new CAS unique when <see cref="StoreStatus.Stored"/>; 0 otherwise.</param>
public readonly record struct StoreResult(StoreStatus Status, ulong Cas)
{
    /// <summary>True when the value was stored.</summary>
    public bool IsStored => Status == StoreStatus.Stored;
}
