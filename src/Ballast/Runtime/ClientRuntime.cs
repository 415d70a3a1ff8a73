using System.Security.Cryptography;

namespace Ballast.Runtime;

/// <summary>
/// What a client draws on besides its clock and its scheduler: the transport, randomness (probe jitter) and its
/// frontend id. One per client, carried by the client's options; <see cref="Default"/> is production's
/// (sockets, <see cref="Random.Shared"/>, a random id). The simulator gives each simulated frontend its own: in-memory
/// pipes, the run's seeded generator, ids drawn from the seed.
/// </summary>
internal sealed class ClientRuntime
{
    /// <summary>Sockets, the shared generator, a cryptographically random frontend id.</summary>
    public static ClientRuntime Default { get; } = new();

    /// <summary>How connections are opened.</summary>
    public IConnectionFactory Transport { get; init; } = SocketConnectionFactory.Instance;

    /// <summary>The generator for jitter. Used from any thread in production (<see cref="Random.Shared"/> is thread-safe).</summary>
    public Random Random { get; init; } = Random.Shared;

    /// <summary>Makes the frontend id: 8 lowercase hex digits.</summary>
    public Func<string> NewFrontendId { get; init; } = static () => Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();

    /// <summary>
    /// Whether the process's meter listeners may observe the client's gauges (journal depth, view age). A simulated
    /// client lives on its world's clock, which only the world's thread may read: a listener polling from its own
    /// thread would read it out of turn.
    /// </summary>
    public bool ObservedByGauges { get; init; } = true;
}
