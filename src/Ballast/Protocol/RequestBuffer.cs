using System.Buffers.Text;

namespace Ballast.Protocol;

/// <summary>
/// The bytes waiting to be written to one connection. Operations format their commands straight into it under the
/// connection's write lock, so requests from many callers leave in one send.
/// </summary>
internal sealed class RequestBuffer
{
    /// <summary>
    /// Above this capacity the buffer is dropped once emptied, so one large value does not leave its size held by the
    /// connection for as long as it lives.
    /// </summary>
    public const int RetainedCapacity = 1024 * 1024;

    private readonly int _initialCapacity;
    private byte[] _buffer;

    public RequestBuffer(int initialCapacity = 16 * 1024)
    {
        _initialCapacity = initialCapacity;
        _buffer = new byte[initialCapacity];
    }

    /// <summary>Bytes the buffer holds now, written or not.</summary>
    public int Capacity => _buffer.Length;

    public int Length { get; private set; }

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, Length);

    /// <summary>Empties the buffer, and gives back a capacity grown past <see cref="RetainedCapacity"/>.</summary>
    public void Clear()
    {
        Length = 0;
        if (_buffer.Length > RetainedCapacity)
        {
            _buffer = new byte[_initialCapacity];
        }
    }

    /// <summary>Forgets what was written past <paramref name="length"/>: used when formatting a request fails midway.</summary>
    public void Truncate(int length) => Length = length;

    public Span<byte> GetSpan(int size)
    {
        if (_buffer.Length - Length < size)
        {
            Array.Resize(ref _buffer, (int)Math.Min(Array.MaxLength, Math.Max(_buffer.Length * 2L, (long)Length + size)));
        }

        return _buffer.AsSpan(Length);
    }

    public void Advance(int count) => Length += count;

    public void Write(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(GetSpan(bytes.Length));
        Length += bytes.Length;
    }

    public void Write(byte value)
    {
        GetSpan(1)[0] = value;
        Length++;
    }

    public void WriteNumber(ulong value)
    {
        Utf8Formatter.TryFormat(value, GetSpan(20), out var written);
        Length += written;
    }

    public void WriteNumber(long value)
    {
        Utf8Formatter.TryFormat(value, GetSpan(20), out var written);
        Length += written;
    }

    /// <summary>Writes <c> X123</c>: a space, a one-letter meta flag and its numeric token.</summary>
    public void WriteFlag(byte flag, ulong token)
    {
        var span = GetSpan(22);
        span[0] = (byte)' ';
        span[1] = flag;
        Utf8Formatter.TryFormat(token, span[2..], out var written);
        Length += 2 + written;
    }

    /// <summary>Writes <c> X</c>: a space and a one-letter meta flag with no token.</summary>
    public void WriteFlag(byte flag)
    {
        var span = GetSpan(2);
        span[0] = (byte)' ';
        span[1] = flag;
        Length += 2;
    }

    public void WriteCrlf() => Write("\r\n"u8);
}
