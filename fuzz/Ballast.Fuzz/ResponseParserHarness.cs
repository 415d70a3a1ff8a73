using Ballast.Protocol;
using Ballast.Protocol.Commands;

namespace Ballast.Fuzz;

/// <summary>
/// What the fuzzer feeds: any bytes, read as a server's answers the way a connection's read loop reads them, with
/// every return flag looked up and every value handed to the commands that consume it. The only failure allowed is
/// <see cref="MemcachedProtocolException"/>; anything else escaping (an index out of range, an overflow, an
/// allocation past the limits) is a crash, and so is a broken invariant of the parser's own answers.
/// </summary>
public static class ResponseParserHarness
{
    /// <summary>The item size limit the harness parses with: small, so oversized values are exercised cheaply.</summary>
    public const int MaxValueLength = 64 * 1024;

    /// <summary>Parses <paramref name="input"/> as a stream of responses until it ends or is refused.</summary>
    /// <exception cref="InvalidOperationException">The parser broke one of its own invariants: a bug.</exception>
    public static void Run(ReadOnlySpan<byte> input)
    {
        var batch = new MultiGetCommand([Key("a"), Key("b"), Key("c"), Key("d")]);
        var rest = input;
        try
        {
            while (!rest.IsEmpty)
            {
                if (!MetaResponseParser.TryParse(rest, MaxValueLength, out var response, out var consumed, out var needed))
                {
                    // Incomplete: what it asks for must be more than it has, and within the limits.
                    if (needed != 0 && (needed <= rest.Length || needed > MetaResponseParser.MaxLineLength + 4 + MaxValueLength))
                    {
                        throw new InvalidOperationException($"the parser asked for {needed} bytes with {rest.Length} in hand");
                    }

                    return;
                }

                if (consumed <= 0 || consumed > rest.Length || response.Value.Length > MaxValueLength)
                {
                    throw new InvalidOperationException($"the parser consumed {consumed} of {rest.Length} bytes for a {response.Value.Length}-byte value");
                }

                Consume(response, batch);
                rest = rest[consumed..];
            }
        }
        catch (MemcachedProtocolException)
        {
            // Refused, as hostile bytes should be.
        }
    }

    private static void Consume(in MetaResponse response, MultiGetCommand batch)
    {
        _ = response.ToString();
        _ = response.GetUInt64Flag((byte)'c');
        _ = response.GetUInt64Flag((byte)'f', uint.MaxValue);
        _ = response.GetInt64Flag((byte)'t', -1);
        _ = response.HasFlag((byte)'W');
        if (response.Code == MetaResponseCode.Value)
        {
            var result = GetCommand.FromValue(response);
            if (result.Value!.Length != response.Value.Length)
            {
                throw new InvalidOperationException("a value was not copied whole");
            }
        }

        if (response.Code is MetaResponseCode.Value or MetaResponseCode.NoOp)
        {
            batch.OnResponse(response);
        }
    }

    private static CacheKey Key(string text) => CacheKey.Create(text, InvalidKeyHandling.Reject);
}
