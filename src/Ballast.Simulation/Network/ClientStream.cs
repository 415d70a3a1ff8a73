using System.Net.Sockets;
using System.Threading.Tasks.Sources;
using Ballast.Simulation.Runtime;

namespace Ballast.Simulation.Network;

/// <summary>
/// The frontend's end of a <see cref="SimulatedConnection"/>, as the duplex <see cref="Stream"/> the client's
/// connection reads and writes. Writes complete at once (the bytes are on the link); a read completes when bytes
/// arrive, with 0 at the server's orderly close and an <see cref="IOException"/> over a
/// <see cref="SocketException"/> at a reset, as a <see cref="NetworkStream"/> does.
/// </summary>
internal sealed class ClientStream : Stream, IValueTaskSource<int>
{
    private readonly SimulatedConnection _connection;
    private readonly SimulationLoop _loop;
    private readonly Queue<byte[]> _arrived = new();
    private ManualResetValueTaskSourceCore<int> _read = new() { RunContinuationsAsynchronously = false };
    private int _offset;
    private Memory<byte> _pendingBuffer;
    private bool _readPending;
    private bool _reset;
    private bool _closed;

    public ClientStream(SimulatedConnection connection, SimulationLoop loop)
    {
        _connection = connection;
        _loop = loop;
    }

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        _loop.CheckThread("Stream.ReadAsync");
        ObjectDisposedException.ThrowIf(_closed, this);
        if (_arrived.Count > 0)
        {
            return new ValueTask<int>(Copy(buffer.Span));
        }

        if (_reset)
        {
            return ValueTask.FromException<int>(ResetError());
        }

        if (_readPending)
        {
            throw new InvalidOperationException("Only one read at a time on a simulated connection.");
        }

        _readPending = true;
        _pendingBuffer = buffer;
        _read.Reset();
        return new ValueTask<int>(this, _read.Version);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        _loop.CheckThread("Stream.WriteAsync");
        if (_closed)
        {
            return ValueTask.FromException(new ObjectDisposedException(nameof(ClientStream)));
        }

        if (_reset)
        {
            return ValueTask.FromException(ResetError());
        }

        _connection.ClientWrite(buffer.ToArray());
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("The simulated connection is asynchronous only.");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("The simulated connection is asynchronous only.");

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>Bytes from the server arrived.</summary>
    public void Deliver(byte[] bytes)
    {

        if (_closed || _reset)
        {
            return;
        }

        _arrived.Enqueue(bytes);
        if (_readPending)
        {
            _readPending = false;
            var n = Copy(_pendingBuffer.Span);
            _pendingBuffer = default;
            _read.SetResult(n);
        }
    }

    /// <summary>The connection was reset (or the server's process died): a pending read fails, and so does what follows.</summary>
    public void PeerReset()
    {
        if (_closed || _reset)
        {
            return;
        }

        _reset = true;
        if (_readPending && _arrived.Count == 0)
        {
            _readPending = false;
            _pendingBuffer = default;
            _read.SetException(ResetError());
        }
    }

    int IValueTaskSource<int>.GetResult(short token) => _read.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _read.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _read.OnCompleted(continuation, state, token, flags);

    protected override void Dispose(bool disposing)
    {
        if (!_closed)
        {
            _loop.CheckThread("Stream.Dispose");
            _closed = true;
            _arrived.Clear();
            _connection.ClientClosed();
            if (_readPending)
            {
                _readPending = false;
                _pendingBuffer = default;
                _read.SetException(new ObjectDisposedException(nameof(ClientStream)));
            }
        }

        base.Dispose(disposing);
    }

    private static IOException ResetError()
        => new("The simulated connection was reset by its peer.", new SocketException((int)SocketError.ConnectionReset));

    private int Copy(Span<byte> destination)
    {
        var copied = 0;
        while (copied < destination.Length && _arrived.TryPeek(out var chunk))
        {
            var n = Math.Min(chunk.Length - _offset, destination.Length - copied);
            chunk.AsSpan(_offset, n).CopyTo(destination[copied..]);
            copied += n;
            _offset += n;
            if (_offset == chunk.Length)
            {
                _arrived.Dequeue();
                _offset = 0;
            }
        }

        return copied;
    }
}
