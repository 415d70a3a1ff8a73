namespace Ballast.Diagnostics;

/// <summary>What an error was turned into, and where: the <c>ballast.absorbed_as</c> of <see cref="ErrorsAsMisses"/>.</summary>
internal enum AbsorbedError
{
    /// <summary>A read of one key failed and was served as a miss.</summary>
    ReadMiss,

    /// <summary>A batched read failed and its keys were served as misses.</summary>
    BatchReadMiss,

    /// <summary>A replica's read failed and the next replica (or an add that never replaces) was used instead.</summary>
    ReplicaFallback,

    /// <summary>A refill placeholder could not be given back; it expires with its lease.</summary>
    PlaceholderKept,

    /// <summary>A replica of the shared view did not answer a read or a write; the quorum decides without it.</summary>
    ViewReplicaUnanswered,

    /// <summary>A lock of the shared view could not be taken, renewed or released on one replica.</summary>
    LockUnanswered,

    /// <summary>A probe of a down server failed; it stays down.</summary>
    ProbeFailed,

    /// <summary>A <c>flush_all</c> before a readmission failed; the server is not readmitted this round.</summary>
    FlushFailed,

    /// <summary>A recovery of lost view records failed; the next read tries again.</summary>
    RecoveryFailed,

    /// <summary>
    /// The immediate delete of a write not sent to a server the view fences failed; the delete stays owed until the
    /// server confirms it.
    /// </summary>
    OwedDeleteUnsent,

    /// <summary>A heartbeat or <c>stats</c> request of the monitor failed; it counts towards failure detection.</summary>
    MonitorRequestFailed,
}
