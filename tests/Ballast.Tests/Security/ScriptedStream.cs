namespace Ballast.Tests.Security;

/// <summary>
/// A connection's transport played from a script: reads return the given fragments exactly as cut (so a response can
/// be split at any byte), once <see cref="Release"/> is called; then either the end of the stream or a stall until
/// disposal. Writes are counted and dropped, or, with <c>stallWrites</c>, never complete (a server that stopped reading).
/// </summary>
internal sealed class ScriptedStream(IReadOnlyList<byte[]> script, bool endWithEof, bool stallWrites = false) : Stream
{
    // Fragments are let go once read, so a test can measure what the connection itself still holds.
    private readonly byte[]?[] _fragments = [.. script];
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _fragment;
    private int _offset;

    public long BytesWritten { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>Lets reads begin: called once every command of the script is queued on the connection.</summary>
    public void Release() => _released.TrySetResult();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await _released.Task.ConfigureAwait(false);
        if (_fragment < _fragments.Length)
        {
            var current = _fragments[_fragment]!;
            var count = Math.Min(buffer.Length, current.Length - _offset);
            current.AsSpan(_offset, count).CopyTo(buffer.Span);
            _offset += count;
            if (_offset == current.Length)
            {
                _fragments[_fragment] = null;
                _fragment++;
                _offset = 0;
            }

            return count;
        }

        if (endWithEof)
        {
            return 0;
        }

        await _closed.Task.ConfigureAwait(false);
        throw new ObjectDisposedException(nameof(ScriptedStream));
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        BytesWritten += buffer.Length;
        return stallWrites ? new ValueTask(_closed.Task) : ValueTask.CompletedTask;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => BytesWritten += count;

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        _closed.TrySetResult();
        base.Dispose(disposing);
    }
}
