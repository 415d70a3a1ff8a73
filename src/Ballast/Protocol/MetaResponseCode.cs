namespace Ballast.Protocol;

/// <summary>The status word that opens a memcached response line.</summary>
internal enum MetaResponseCode : byte
{
    /// <summary><c>VA</c>: a value follows.</summary>
    Value,

    /// <summary><c>HD</c>: success, no value.</summary>
    Header,

    /// <summary><c>EN</c>: miss (mg).</summary>
    End,

    /// <summary><c>NS</c>: not stored.</summary>
    NotStored,

    /// <summary><c>EX</c>: exists (a CAS mismatch).</summary>
    Exists,

    /// <summary><c>NF</c>: not found.</summary>
    NotFound,

    /// <summary><c>MN</c>: the end of a pipelined batch (answer to <c>mn</c>).</summary>
    NoOp,

    /// <summary><c>OK</c>: a classic text command (flush_all) succeeded.</summary>
    Ok,

    /// <summary><c>VERSION x</c>.</summary>
    Version,

    /// <summary><c>STAT name value</c>, one line of a stats listing.</summary>
    Stat,

    /// <summary><c>END</c>: the end of a stats listing.</summary>
    StatsEnd,

    /// <summary><c>ERROR</c>: the server did not understand the command.</summary>
    Error,

    /// <summary><c>CLIENT_ERROR msg</c>: the server rejected the request's form.</summary>
    ClientError,

    /// <summary><c>SERVER_ERROR msg</c>: the server could not carry out a well-formed request.</summary>
    ServerError,
}
