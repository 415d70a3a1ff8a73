using System.Buffers.Binary;

namespace Ballast.Failover;

/// <summary>
/// One replica's copy of a key, unwrapped: a value or a tombstone, its clock stamp (hybrid logical clock, taken by the
/// frontend that wrote it) and, for <see cref="MemcachedClient.SetVersionedAsync"/>, the caller's own version.
/// </summary>
/// <remarks>
/// Two orders meet here. The clock orders writes in time: a tombstone written after a value beats it, and a value
/// written after a tombstone beats the tombstone. A caller's version (a database row version) orders the caller's
/// versioned values among themselves, whatever order they arrive in. The two are never compared with each other:
/// a row version of 5 and a clock stamp of <c>ms &lt;&lt; 16</c> mean nothing to one another (comparing them let a
/// tombstone hide every later versioned set, and a refill beat a newer versioned one). So <see cref="Newest"/> picks
/// the best caller-versioned copy by caller version, the newest other copy by clock, and between the two, the clock.
/// </remarks>
internal readonly record struct ReplicaCopy(bool IsTombstone, long Clock, long? CallerVersion, byte[] Value, uint Flags, ulong Cas)
{
    /// <summary>The caller-versioned envelope: magic, kind, clock stamp, caller version, then the value.</summary>
    public const int CallerVersionedHeaderLength = ValueEnvelope.HeaderLength + sizeof(long);

    public static byte[] WrapValue(long clock, long? callerVersion, ReadOnlySpan<byte> value)
    {
        if (callerVersion is not { } version)
        {
            return ValueEnvelope.Wrap(EnvelopeKind.Versioned, clock, value);
        }

        var header = ValueEnvelope.Wrap(EnvelopeKind.CallerVersioned, clock, new byte[sizeof(long) + value.Length]);
        BinaryPrimitives.WriteInt64BigEndian(header.AsSpan(ValueEnvelope.HeaderLength), version);
        value.CopyTo(header.AsSpan(CallerVersionedHeaderLength));
        return header;
    }

    public static byte[] WrapTombstone(long clock) => ValueEnvelope.Wrap(EnvelopeKind.Tombstone, clock, []);

    /// <summary>Reads a servable replica answer; false for anything that is not a replica's copy.</summary>
    public static bool TryRead(GetResult raw, out ReplicaCopy copy)
    {
        copy = default;
        if (!ServableRule.IsServable(raw) || !ValueEnvelope.TryUnwrap(raw.Value!, out var kind, out var clock, out var value))
        {
            return false;
        }

        switch (kind)
        {
            case EnvelopeKind.Versioned:
                copy = new ReplicaCopy(false, clock, null, value, raw.Flags, raw.Cas);
                return true;
            case EnvelopeKind.Tombstone:
                copy = new ReplicaCopy(true, clock, null, [], raw.Flags, raw.Cas);
                return true;
            case EnvelopeKind.CallerVersioned when value.Length >= sizeof(long):
                var version = BinaryPrimitives.ReadInt64BigEndian(value);
                copy = new ReplicaCopy(false, clock, version, value[sizeof(long)..], raw.Flags, raw.Cas);
                return true;
            default:
                return false;
        }
    }

    /// <summary>The copy that wins among replica answers (see the remarks), or null when none is a copy.</summary>
    public static ReplicaCopy? Newest(IEnumerable<GetResult> answers)
    {
        ReplicaCopy? byClock = null;
        ReplicaCopy? byCaller = null;
        foreach (var raw in answers)
        {
            if (!TryRead(raw, out var copy))
            {
                continue;
            }

            if (copy.CallerVersion is { } version)
            {
                if (byCaller is not { } best || version > best.CallerVersion || (version == best.CallerVersion && copy.Clock > best.Clock))
                {
                    byCaller = copy;
                }
            }
            else if (byClock is not { } newest || copy.Clock > newest.Clock)
            {
                byClock = copy;
            }
        }

        if (byCaller is not { } caller)
        {
            return byClock;
        }

        return byClock is { } clocked && clocked.Clock > caller.Clock ? clocked : caller;
    }
}
