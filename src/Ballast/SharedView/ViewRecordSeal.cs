using System.Security.Cryptography;
using System.Text;

namespace Ballast.SharedView;

/// <summary>
/// The integrity of the shared view's records and locks against anyone who can write to the servers (or to etcd) but
/// does not hold the pool's secret (<see cref="SharedViewOptions.Secret"/>). With a secret, every value is written as
/// <c>payload + " " + 64 lowercase hex digits</c>: the HMAC-SHA256, keyed by the secret, of the pool's name, the key
/// the value is stored under and the payload. A value that is forged, altered, or copied from another key or another
/// pool does not open, and its reader treats it as no value at all: a lost record (the server is fenced and flushed
/// before anyone reads it again) or a foreign lock (never taken for this frontend's). Fail closed. Without a secret,
/// values are written and read as they are; docs/security.md says what that leaves open. The PHP bridge
/// (<c>php/ballast.php</c>, <c>RecordSeal</c>) writes and checks the same bytes.
/// </summary>
/// <remarks>
/// A codec only, kept apart from the stores: a store calls it where it encodes or decodes a record or a lock value,
/// and nowhere else. Replaying a value under the same key (an older record of the same server) stays possible; the
/// epoch watermark refuses records older than one this frontend has seen, as without a seal.
/// </remarks>
internal sealed class ViewRecordSeal
{
    /// <summary>The bytes a seal adds: a space and the MAC in hex.</summary>
    public const int Overhead = 1 + (2 * HmacLength);

    /// <summary>The shortest secret accepted (<see cref="SharedViewOptions.MinimumSecretLength"/>).</summary>
    public const int MinimumSecretLength = SharedViewOptions.MinimumSecretLength;

    private const int HmacLength = 32;

    private readonly byte[]? _key;
    private readonly byte[] _poolName;
    private readonly string _poolNameText;

    /// <param name="secret">The pool's secret (its UTF-8 bytes), or null for no seal.</param>
    /// <param name="poolName">The pool's name, which every MAC binds.</param>
    public ViewRecordSeal(byte[]? secret, string poolName)
    {
        if (secret is { Length: < MinimumSecretLength })
        {
            throw new ArgumentException($"The shared view's secret must be at least {MinimumSecretLength} bytes long.", nameof(secret));
        }

        _key = secret;
        _poolName = Encoding.UTF8.GetBytes(poolName);
        _poolNameText = poolName;
    }

    /// <summary>No secret: values pass through as they are.</summary>
    public static ViewRecordSeal None { get; } = new(null, string.Empty);

    /// <summary>True when values carry a MAC.</summary>
    public bool IsEnabled => _key is not null;

    /// <summary>The value to store under <paramref name="key"/> for <paramref name="payload"/>.</summary>
    public byte[] Seal(string key, ReadOnlySpan<byte> payload)
    {
        if (_key is null)
        {
            return payload.ToArray();
        }

        var sealedValue = new byte[payload.Length + Overhead];
        payload.CopyTo(sealedValue);
        sealedValue[payload.Length] = (byte)' ';
        Span<byte> mac = stackalloc byte[HmacLength];
        Mac(key, payload, mac);
        WriteHex(mac, sealedValue.AsSpan(payload.Length + 1));
        return sealedValue;
    }

    /// <summary>
    /// The payload of a value read under <paramref name="key"/>: true when it opens (its MAC is right, or there is no
    /// secret), false when it must be treated as no value.
    /// </summary>
    public bool TryOpen(string key, ReadOnlySpan<byte> value, out ReadOnlySpan<byte> payload)
    {
        if (_key is null)
        {
            payload = value;
            return true;
        }

        payload = default;
        if (value.Length < Overhead || value[^Overhead] != (byte)' ')
        {
            return false;
        }

        var body = value[..^Overhead];
        Span<byte> expected = stackalloc byte[HmacLength];
        Span<byte> expectedHex = stackalloc byte[2 * HmacLength];
        Mac(key, body, expected);
        WriteHex(expected, expectedHex);
        if (!CryptographicOperations.FixedTimeEquals(expectedHex, value[^(2 * HmacLength)..]))
        {
            return false;
        }

        payload = body;
        return true;
    }

    /// <summary>
    /// The name a MAC binds a server's record to, whatever the store: its key in the memcached store,
    /// <c>ballast:&lt;pool&gt;:view:&lt;index&gt;</c> (the PHP bridge seals the same bytes).
    /// </summary>
    public string RecordName(int index) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Protocol.ReservedKeys.Prefix(_poolNameText)}view:{index}");

    /// <summary>A record as stored under <paramref name="key"/>.</summary>
    public byte[] Encode(string key, ViewEntry entry) => Seal(key, entry.Encode());

    /// <summary>A record read under <paramref name="key"/>: false when its MAC fails or it is no record.</summary>
    public bool TryDecode(string key, ReadOnlySpan<byte> value, out ViewEntry entry)
    {
        entry = default;
        return TryOpen(key, value, out var payload) && ViewEntry.TryDecode(payload, out entry);
    }

    /// <summary>HMAC-SHA256(secret, "ballast-view-v1\n" + pool + "\n" + key + "\n" + payload).</summary>
    private void Mac(string key, ReadOnlySpan<byte> payload, Span<byte> destination)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, _key!);
        hmac.AppendData("ballast-view-v1\n"u8);
        hmac.AppendData(_poolName);
        hmac.AppendData("\n"u8);
        hmac.AppendData(Encoding.UTF8.GetBytes(key));
        hmac.AppendData("\n"u8);
        hmac.AppendData(payload);
        hmac.GetHashAndReset(destination);
    }

    private static void WriteHex(ReadOnlySpan<byte> bytes, Span<byte> destination)
    {
        const string Digits = "0123456789abcdef";
        for (var i = 0; i < bytes.Length; i++)
        {
            destination[2 * i] = (byte)Digits[bytes[i] >> 4];
            destination[(2 * i) + 1] = (byte)Digits[bytes[i] & 0xF];
        }
    }
}
