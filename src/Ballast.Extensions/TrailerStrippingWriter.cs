using System.Buffers;

namespace Ballast.Extensions;

/// <summary>
/// Where the client copies a cache entry on its way to the caller: the value arrives in one <c>GetSpan</c> and one
/// <c>Advance</c> (the client copies a value in one piece), and the writer keeps its <see cref="EntryTiming"/> trailer
/// apart. Nothing reaches the caller until <see cref="Commit"/>, after the cache has checked the entry's flags and
/// deadline: an entry that turns out foreign or expired leaves the caller's buffer untouched. Into a caller's
/// <see cref="IBufferWriter{T}"/> (<see cref="Rent(IBufferWriter{byte})"/>) the value is written once, in place; for a
/// <c>byte[]</c> result (<see cref="RentForArray"/>) it lands in a scratch buffer of the thread that copies it (the
/// connection's), and is copied at once, within the same call, into an array of exactly its length: the scratch is
/// free again before that thread copies anything else. (A pooled array rented there and returned by the caller left
/// arrays piling up on one side and allocated anew on the other.) One writer per thread is reused, so a read allocates
/// nothing but that array.
/// </summary>
internal sealed class TrailerStrippingWriter : IBufferWriter<byte>
{
    // Values up to this size go through the thread's own scratch; larger ones through a pooled array.
    private const int MaxScratchBytes = 64 * 1024;

    [ThreadStatic]
    private static TrailerStrippingWriter? t_cached;

    [ThreadStatic]
    private static byte[]? t_scratch;

    private IBufferWriter<byte>? _inner;
    private byte[]? _scratch;
    private byte[]? _array;
    private Memory<byte> _last;
    private int _written = -1;

    /// <summary>The deadline read from the trailer; valid once <see cref="HasEntry"/>.</summary>
    public long DeadlineUnixMilliseconds { get; private set; }

    /// <summary>True once a value of at least the trailer's length has arrived.</summary>
    public bool HasEntry => _written >= EntryTiming.TrailerLength;

    /// <summary>A writer into <paramref name="inner"/>.</summary>
    public static TrailerStrippingWriter Rent(IBufferWriter<byte> inner)
    {
        var writer = t_cached ?? new TrailerStrippingWriter();
        t_cached = null;
        writer._inner = inner;
        writer._written = -1;
        return writer;
    }

    /// <summary>A writer whose value <see cref="Commit"/> returns as a new array.</summary>
    public static TrailerStrippingWriter RentForArray() => Rent(NoInner.Instance);

    public static void Return(TrailerStrippingWriter writer)
    {
        writer._inner = null;
        writer._array = null;
        writer._scratch = null;
        writer._last = default;
        t_cached = writer;
    }

    /// <summary>
    /// Hands the value (without its trailer) to the caller: advances the caller's writer, or returns a new array of
    /// exactly the value's length (null when writing into a caller's writer).
    /// </summary>
    public byte[]? Commit()
    {
        if (_inner is NoInner)
        {
            return _array;
        }

        _inner!.Advance(_written - EntryTiming.TrailerLength);
        return null;
    }

    public void Advance(int count)
    {
        if (_written >= 0)
        {
            throw new InvalidOperationException("A cache entry must arrive in one piece.");
        }

        _written = count;
        if (count < EntryTiming.TrailerLength)
        {
            // Shorter than a trailer: a value stored by something else, which reads as a miss (HasEntry is false).
            _scratch = null;
            _last = default;
            return;
        }

        DeadlineUnixMilliseconds = EntryTiming.ReadDeadline(_last.Span.Slice(count - EntryTiming.TrailerLength, EntryTiming.TrailerLength));
        if (_scratch is { } scratch)
        {
            _array = _last.Span[..(count - EntryTiming.TrailerLength)].ToArray();
            _scratch = null;
            _last = default;
            if (scratch.Length > MaxScratchBytes)
            {
                ArrayPool<byte>.Shared.Return(scratch);
            }
        }
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        if (_inner is NoInner)
        {
            var size = Math.Max(sizeHint, EntryTiming.TrailerLength);
            if (size > MaxScratchBytes)
            {
                _scratch = ArrayPool<byte>.Shared.Rent(size);
            }
            else
            {
                _scratch = t_scratch is { } own && own.Length >= size ? own : t_scratch = new byte[Math.Max(size, 1024)];
            }

            return _last = _scratch;
        }

        return _last = _inner!.GetMemory(sizeHint);
    }

    public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    /// <summary>Stands for "no caller's writer": the value goes into scratch memory, then into an array.</summary>
    private sealed class NoInner : IBufferWriter<byte>
    {
        public static readonly NoInner Instance = new();

        public void Advance(int count) => throw new NotSupportedException();

        public Memory<byte> GetMemory(int sizeHint = 0) => throw new NotSupportedException();

        public Span<byte> GetSpan(int sizeHint = 0) => throw new NotSupportedException();
    }
}
