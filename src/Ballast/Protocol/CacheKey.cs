using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace Ballast.Protocol;

/// <summary>
/// A validated key, ready for the wire: its UTF-8 bytes (what key distribution hashes) and whether it travels
/// base64-encoded. Validation happens here, before a server is chosen, so a bad key never reaches a socket.
/// </summary>
internal readonly struct CacheKey
{
    /// <summary>memcached's limit on a key's length, in bytes.</summary>
    public const int MaxLength = 250;

    /// <summary>The longest raw key that still fits in <see cref="MaxLength"/> once base64-encoded.</summary>
    public const int MaxBase64SourceLength = MaxLength / 4 * 3;

    private CacheKey(string text, int byteCount, bool base64, string? subject = null)
    {
        Text = text;
        ByteCount = byteCount;
        IsBase64 = base64;
        Subject = subject;
    }

    /// <summary>The key as the application wrote it.</summary>
    public string Text { get; }

    /// <summary>Length of the key's UTF-8 bytes (at most <see cref="MaxLength"/>).</summary>
    public int ByteCount { get; }

    /// <summary>True when the key is sent base64-encoded with the <c>b</c> flag.</summary>
    public bool IsBase64 { get; }

    /// <summary>
    /// What the key is, in words, when it is one of the pool's own keys rather than an application's (<c>the shared
    /// view's record of server 10.0.0.3:11211</c>): errors and logs name that instead of the internal key. Null for
    /// an application's key.
    /// </summary>
    public string? Subject { get; }

    /// <summary>Bytes the key takes on the wire.</summary>
    public int WireLength => IsBase64 ? Base64.GetMaxEncodedToUtf8Length(ByteCount) : ByteCount;

    /// <summary>
    /// Writes the key's UTF-8 bytes (what key distribution hashes) into <paramref name="destination"/>, which must hold
    /// <see cref="MaxLength"/> bytes; returns the bytes written. Keys are re-encoded where needed rather than kept as
    /// arrays, so a request allocates nothing for its key.
    /// </summary>
    public ReadOnlySpan<byte> GetUtf8(Span<byte> destination)
    {
        // As many bytes as characters: an ASCII key, copied narrowing (no UTF-8 encoder needed).
        var written = ByteCount == Text.Length && Ascii.FromUtf16(Text, destination, out var ascii) == OperationStatus.Done ? ascii : Encoding.UTF8.GetBytes(Text, destination);
        return destination[..written];
    }

    /// <summary>Validates and encodes a key.</summary>
    /// <exception cref="InvalidCacheKeyException">The key breaks a rule; the message names the key and the rule.</exception>
    public static CacheKey Create(string key, InvalidKeyHandling handling)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length == 0)
        {
            throw new InvalidCacheKeyException(key, "a key must be at least 1 byte long");
        }

        if (key.Length > MaxLength)
        {
            throw new InvalidCacheKeyException(key, $"a key must be at most {MaxLength} bytes of UTF-8, and this one has {key.Length} characters");
        }

        // Nearly every key is ASCII: its bytes are its characters, so it is checked where it is, without encoding it
        // into a buffer first. Anything else, and every key that breaks a rule, takes the general path below, which
        // words the error.
        var chars = key.AsSpan();
        if (Ascii.IsValid(chars) && chars.IndexOfAnyInRange('\0', ' ') < 0 && !chars.Contains('\u007f'))
        {
            return new CacheKey(key, key.Length, base64: false);
        }

        Span<byte> utf8 = stackalloc byte[MaxLength * 3];
        int byteCount;
        try
        {
            byteCount = StrictUtf8.GetBytes(key, utf8);
        }
        catch (EncoderFallbackException)
        {
            throw new InvalidCacheKeyException(key, "a key must be valid Unicode (it contains an unpaired surrogate)");
        }

        utf8 = utf8[..byteCount];
        if (byteCount > MaxLength)
        {
            throw new InvalidCacheKeyException(key, $"a key must be at most {MaxLength} bytes of UTF-8, and this one is {byteCount}");
        }

        var forbidden = utf8.IndexOfAnyInRange((byte)0x00, (byte)0x20);
        if (forbidden < 0)
        {
            forbidden = utf8.IndexOf((byte)0x7F);
        }

        if (forbidden < 0)
        {
            return new CacheKey(key, byteCount, base64: false);
        }

        if (handling != InvalidKeyHandling.Base64)
        {
            throw new InvalidCacheKeyException(
                key,
                $"a key must not contain bytes 0x00-0x20 or 0x7F (spaces and control characters), and byte {forbidden} is 0x{utf8[forbidden]:X2}; set InvalidKeyHandling.Base64 to send such keys base64-encoded");
        }

        if (byteCount > MaxBase64SourceLength)
        {
            throw new InvalidCacheKeyException(key, $"a key sent base64-encoded must be at most {MaxBase64SourceLength} bytes of UTF-8, and this one is {byteCount}");
        }

        return new CacheKey(key, byteCount, base64: true);
    }

    /// <summary>The same key, described in messages as <paramref name="subject"/>.</summary>
    public CacheKey About(string subject) => new(Text, ByteCount, IsBase64, subject);

    /// <summary>The key as messages name it: its <see cref="Subject"/>, else <c>key 'text'</c>.</summary>
    public string Describe() => Subject ?? $"key '{Text}'";

    /// <summary>Writes the key as it goes on the wire.</summary>
    public void WriteTo(RequestBuffer buffer)
    {
        if (!IsBase64)
        {
            var direct = buffer.GetSpan(ByteCount);
            if (ByteCount == Text.Length)
            {
                // ASCII (as many bytes as characters): copied narrowing, without the UTF-8 encoder.
                Ascii.FromUtf16(Text, direct, out var ascii);
                buffer.Advance(ascii);
            }
            else
            {
                buffer.Advance(Encoding.UTF8.GetBytes(Text, direct));
            }

            return;
        }

        Span<byte> utf8 = stackalloc byte[MaxLength];
        var span = buffer.GetSpan(WireLength);
        var status = Base64.EncodeToUtf8(GetUtf8(utf8), span, out _, out var written);
        if (status != OperationStatus.Done)
        {
            throw new InvalidOperationException($"base64 encoding of key '{Text}' failed: {status}");
        }

        buffer.Advance(written);
    }

    public override string ToString() => Text;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
}
