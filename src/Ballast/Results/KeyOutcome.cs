namespace Ballast;

/// <summary>
/// One key's outcome in a batch call (<c>SetManyAsync</c>, <c>DeleteManyAsync</c>): its result, or the error that the
/// same call on that key alone would have thrown. Keys succeed and fail independently.
/// </summary>
/// <typeparam name="TResult">The result of one key (<see cref="StoreResult"/>, <see cref="DeleteStatus"/>).</typeparam>
public readonly struct KeyOutcome<TResult> : IEquatable<KeyOutcome<TResult>>
{
    private readonly TResult _result;

    /// <summary>A key that got its result.</summary>
    /// <param name="result">The result.</param>
    public KeyOutcome(TResult result)
    {
        _result = result;
        Error = null;
    }

    /// <summary>A key that failed.</summary>
    /// <param name="error">Why; never null.</param>
    public KeyOutcome(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        _result = default!;
        Error = error;
    }

    /// <summary>True when the key got a result (which may still be "not stored" or "not found").</summary>
    public bool Succeeded => Error is null;

    /// <summary>The key's result.</summary>
    /// <exception cref="InvalidOperationException">The key failed; its error is the inner exception.</exception>
    public TResult Result => Error is null ? _result : throw new InvalidOperationException($"This key has no result: {Error.Message}", Error);

    /// <summary>
    /// The error, or null: a <see cref="MemcachedException"/>, as the single-key call would have thrown. For a delete,
    /// an <see cref="InvalidationOwedException"/> means the invalidation could be neither confirmed nor fenced (the
    /// journal keeps retrying it); for a store, the store's fate is unknown and the key has been invalidated.
    /// </summary>
    public Exception? Error { get; }

    /// <inheritdoc />
    public bool Equals(KeyOutcome<TResult> other) => Equals(Error, other.Error) && EqualityComparer<TResult>.Default.Equals(_result, other._result);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is KeyOutcome<TResult> other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(_result, Error);

    /// <inheritdoc />
    public override string ToString() => Error is null ? $"{_result}" : $"failed: {Error.Message}";

    /// <summary>Equality of two outcomes.</summary>
    public static bool operator ==(KeyOutcome<TResult> left, KeyOutcome<TResult> right) => left.Equals(right);

    /// <summary>Inequality of two outcomes.</summary>
    public static bool operator !=(KeyOutcome<TResult> left, KeyOutcome<TResult> right) => !left.Equals(right);
}
