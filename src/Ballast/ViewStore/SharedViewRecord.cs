namespace Ballast;

/// <summary>One replica's copy of a shared-view record: its bytes and its version (for compare-and-swap; never 0).</summary>
/// <param name="Value">The record as Ballast wrote it.</param>
/// <param name="Version">The store's version of it (memcached's CAS, etcd's mod revision).</param>
public readonly record struct SharedViewRecord(ReadOnlyMemory<byte> Value, long Version);
