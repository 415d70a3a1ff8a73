using System.Globalization;
using System.Text;

namespace Ballast.Tests.Simulation;

/// <summary>
/// Command streams for the differential test, drawn from a seed: the meta commands Ballast sends (mg, ms, md, ma, mn)
/// with every flag it uses and their combinations (value, flags, CAS, TTL, vivify-on-miss, win/stale/already-won,
/// invalidate, quiet mode, opaque, base64 keys, add/append/prepend/replace/set modes, compare-and-swap with CAS values
/// the stream has seen, increments and decrements with initial values), plus flush_all and version, over a few keys so
/// that they meet. Values are hex, so no answer can be mistaken for a protocol line.
/// </summary>
internal static class MetaCommandStream
{
    private static readonly string[] Keys = ["a", "b", "c", "ctr", "k:with:colons"];

    public static string Create(int seed, int commands)
    {
        var random = new Random(seed);
        var text = new StringBuilder();
        var opaque = 0;
        for (var i = 0; i < commands; i++)
        {
            var key = Keys[random.Next(Keys.Length)];
            var binary = random.Next(8) == 0;
            var wireKey = binary ? Convert.ToBase64String(Encoding.ASCII.GetBytes(key + "\u0001")) : key;
            var flags = new List<string>();
            if (binary)
            {
                flags.Add("b");
            }

            void Maybe(int oneIn, string flag)
            {
                if (random.Next(oneIn) == 0)
                {
                    flags.Add(flag);
                }
            }

            void Opaque()
            {
                if (random.Next(3) != 0)
                {
                    flags.Add("O" + (++opaque).ToString(CultureInfo.InvariantCulture));
                }
            }

            switch (random.Next(20))
            {
                case < 6:
                    Maybe(2, "v");
                    Maybe(2, "f");
                    Maybe(2, "c");
                    Maybe(3, "s");
                    Maybe(3, "k");
                    Maybe(4, "h");
                    Maybe(5, "q");
                    Maybe(5, "T" + Ttl(random));
                    Maybe(3, "N" + random.Next(5, 60).ToString(CultureInfo.InvariantCulture));
                    Opaque();
                    Shuffle(random, flags);
                    text.Append("mg ").Append(wireKey).Append(Flags(flags)).Append("\r\n");
                    break;
                case < 11:
                    var value = Value(random, key);
                    Maybe(2, "c");
                    Maybe(2, "T" + Ttl(random));
                    Maybe(3, "F" + random.Next(0, 70_000).ToString(CultureInfo.InvariantCulture));
                    Maybe(3, "M" + "ESAPR"[random.Next(5)]);
                    Maybe(3, "C" + Cas(random));
                    Maybe(5, "q");
                    Maybe(5, "k");
                    Maybe(8, "I");
                    Opaque();
                    Shuffle(random, flags);
                    text.Append("ms ").Append(wireKey).Append(' ').Append(value.Length).Append(Flags(flags)).Append("\r\n").Append(value).Append("\r\n");
                    break;
                case < 14:
                    Maybe(3, "C" + Cas(random));
                    if (random.Next(3) == 0)
                    {
                        flags.Add("I");
                        Maybe(2, "T" + Ttl(random));
                    }

                    Maybe(5, "q");
                    Maybe(5, "k");
                    Opaque();
                    Shuffle(random, flags);
                    text.Append("md ").Append(wireKey).Append(Flags(flags)).Append("\r\n");
                    break;
                case < 17:
                    Maybe(2, "v");
                    Maybe(2, "M" + "ID+-"[random.Next(4)]);
                    Maybe(2, "D" + random.Next(0, 5).ToString(CultureInfo.InvariantCulture));
                    if (random.Next(2) == 0)
                    {
                        flags.Add("N" + random.Next(0, 60).ToString(CultureInfo.InvariantCulture));
                        Maybe(2, "J" + random.Next(0, 20).ToString(CultureInfo.InvariantCulture));
                    }

                    Maybe(4, "C" + Cas(random));
                    Maybe(3, "c");
                    Maybe(5, "q");
                    Maybe(5, "k");
                    Opaque();
                    Shuffle(random, flags);
                    text.Append("ma ").Append(wireKey).Append(Flags(flags)).Append("\r\n");
                    break;
                case 17:
                    text.Append("mn\r\n");
                    break;
                case 18:
                    text.Append(random.Next(10) == 0 ? "flush_all\r\n" : "version\r\n");
                    break;
                default:
                    // A multi-get batch as the shared view reads it: quiet gets, closed by mn.
                    foreach (var k in Keys.Take(random.Next(1, Keys.Length + 1)))
                    {
                        text.Append("mg ").Append(k).Append(" v f c q O").Append((++opaque).ToString(CultureInfo.InvariantCulture)).Append("\r\n");
                    }

                    text.Append("mn\r\n");
                    break;
            }
        }

        return text.ToString();
    }

    private static string Flags(List<string> flags) => flags.Count == 0 ? string.Empty : " " + string.Join(' ', flags);

    private static string Value(Random random, string key)
        => key == "ctr" && random.Next(2) == 0
            ? random.Next(0, 1000).ToString(CultureInfo.InvariantCulture)
            : Convert.ToHexString(BitConverter.GetBytes(random.NextInt64()))[..random.Next(0, 16)];

    // TTLs that cannot expire during a stream whatever the servers' clock phases: long, none, negative (already
    // expired) or an absolute Unix time far in the past or the future.
    private static string Ttl(Random random) => random.Next(6) switch
    {
        0 => "0",
        1 => "-1",
        2 => "1000000",
        3 => (DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 100_000).ToString(CultureInfo.InvariantCulture),
        _ => random.Next(30, 3_000).ToString(CultureInfo.InvariantCulture),
    };

    // CAS values a fresh server hands out early, so compare-and-swaps sometimes match.
    private static string Cas(Random random) => random.Next(1, 40).ToString(CultureInfo.InvariantCulture);

    private static void Shuffle(Random random, List<string> flags)
    {
        for (var i = flags.Count - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (flags[i], flags[j]) = (flags[j], flags[i]);
        }
    }
}
