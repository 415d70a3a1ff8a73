using System.Buffers;

namespace Ballast.Extensions;

/// <summary>
/// Lets the client copy a cache entry straight into the caller's buffer while keeping its 8-byte
/// <see cref="EntryTiming"/> trailer out of it: the value arrives in one <c>GetSpan</c> and one <c>Advance</c> (the
/// client copies a value in one piece), so the trailer is read from the end of that span and only the bytes before it
/// are advanced. One instance per thread is reused, so a read allocates nothing.
/// </summary>
internal sealed class TrailerStrippingWriter : IBufferWriter<byte>
{
    [ThreadStatic]
    private static TrailerStrippingWriter? t_cached;

    private IBufferWriter<byte>? _inner;
    private Memory<byte> _last;

    /// <summary>The trailer read from the value; null until a value of at least its length was written.</summary>
    public EntryTiming? Timing { get; private set; }

    public static TrailerStrippingWriter Rent(IBufferWriter<byte> inner)
    {
        var writer = t_cached ?? new TrailerStrippingWriter();
        t_cached = null;
        writer._inner = inner;
        writer.Timing = null;
        return writer;
    }

    public static void Return(TrailerStrippingWriter writer)
    {
        writer._inner = null;
        writer._last = default;
        t_cached = writer;
    }

    public void Advance(int count)
    {
        if (Timing is not null || count < EntryTiming.Length)
        {
            throw new InvalidOperationException("A cache entry must arrive in one piece of at least its 8-byte trailer.");
        }

        Timing = EntryTiming.Read(_last.Span.Slice(count - EntryTiming.Length, EntryTiming.Length));
        _inner!.Advance(count - EntryTiming.Length);
    }

    public Memory<byte> GetMemory(int sizeHint = 0) => _last = _inner!.GetMemory(sizeHint);

    public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
}
