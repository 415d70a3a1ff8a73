namespace Ballast.Failover;

/// <summary>What a <see cref="ValueEnvelope"/>'s stamp means.</summary>
internal enum EnvelopeKind : byte
{
    /// <summary>A gutter entry; the stamp is the epoch of the primary server's outage.</summary>
    GutterEntry = (byte)'G',

    /// <summary>A replicated value; the stamp is its version.</summary>
    Versioned = (byte)'V',

    /// <summary>A replicated delete; the stamp is the version it deleted at.</summary>
    Tombstone = (byte)'T',

    /// <summary>A replicated value stored with the caller's version (a row version) beside the clock stamp.</summary>
    CallerVersioned = (byte)'C',
}
