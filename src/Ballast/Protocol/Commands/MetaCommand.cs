namespace Ballast.Protocol.Commands;

/// <summary>
/// One request on its way through a connection: formatted into the connection's <see cref="RequestBuffer"/>, then held
/// in the connection's in-flight queue until the responses that belong to it have been read.
/// </summary>
/// <remarks>
/// Responses on a memcached connection come back in request order; the queue gives the order and the opaque token
/// (<c>O</c> flag) checks it, so a response that does not belong to the head command poisons the connection instead
/// of being handed to the wrong caller.
/// </remarks>
internal abstract class MetaCommand
{
    /// <summary>The key this command is for, for error messages; null for server-wide commands.</summary>
    public abstract string? Key { get; }

    /// <summary>What the request is for, as errors name it: <c>key 'k'</c>, a pool key's subject, or <c>a server command</c>.</summary>
    public virtual string Describe() => Key is null ? "a server command" : $"key '{Key}'";

    /// <summary>Set when the command is written: the clock reading its timeout counts from.</summary>
    public long WrittenTimestamp { get; set; }

    /// <summary>How many opaque tokens the command uses (a batch uses one per key).</summary>
    public virtual int OpaqueCount => 1;

    /// <summary>The first opaque token, assigned by the connection under its write lock.</summary>
    public uint Opaque { get; set; }

    /// <summary>Whether the caller's await resumes on a worker (true) or inline (false, a simulation thread only).</summary>
    public abstract bool RunContinuationsAsynchronously { set; }

    /// <summary>Formats the request. Called under the connection's write lock, after <see cref="Opaque"/> is set.</summary>
    public abstract void WriteRequest(RequestBuffer buffer);

    /// <summary>
    /// Consumes one response. Returns true when the command has all its responses.
    /// </summary>
    /// <exception cref="MemcachedProtocolException">The response does not belong to this command.</exception>
    public abstract bool OnResponse(in MetaResponse response);

    /// <summary>
    /// Hands the result to the caller. <paramref name="reusable"/> is true only when the read loop itself took this
    /// command off the connection's queue: then nothing else holds it, and a pooled command may go back to its pool.
    /// </summary>
    public abstract void Complete(bool reusable);

    /// <summary>
    /// Called by the read loop when handling this command's response threw: a command that had claimed its completion
    /// (see <c>MetaCommand{T}.TryClaimCompletion</c>) can no longer be failed by anyone else, so it fails here.
    /// </summary>
    public virtual void OnResponseFailed(Exception error)
    {
    }

    /// <summary>Fails the caller's await. Idempotent: the first outcome wins.</summary>
    public abstract void Fail(Exception error);

    /// <summary>
    /// Whether a <c>SERVER_ERROR</c> answer leaves the connection aligned: true for commands answered by exactly one
    /// line, since the server has then answered this command and the next response is the next command's.
    /// </summary>
    public virtual bool ServerErrorKeepsConnection => true;

    /// <summary>Checks the <c>O</c> return flag against the token this command sent.</summary>
    protected void VerifyOpaque(in MetaResponse response, uint expected)
    {
        if (!response.TryGetFlag((byte)'O', out var token)
            || !ProtocolNumber.TryParse(token, uint.MaxValue, out var echoed)
            || echoed != expected)
        {
            throw new MemcachedProtocolException(
                $"response '{response.ToString()}' does not carry opaque O{expected} of the request for {Describe()}: responses are out of step with requests");
        }
    }
}
