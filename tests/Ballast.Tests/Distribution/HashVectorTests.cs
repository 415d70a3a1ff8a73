using System.Text;
using Ballast.Distribution.Hashing;

namespace Ballast.Tests.Distribution;

/// <summary>The hash functions against published vectors.</summary>
public sealed class HashVectorTests
{
    // libmemcached test/fixtures/hashes.hpp: input[] and the one_at_a_time, md5, crc and fnv1a_32 rows of output[].
    private static readonly string[] Inputs =
    [
        "apple", "beat", "carrot", "daikon", "eggplant", "flower", "green", "hide", "ick", "jack", "kick", "lime",
        "mushrooms", "nectarine", "orange", "peach", "quant", "ripen", "strawberry", "tang", "up", "volumne", "when",
        "yellow", "zip", "The quick brown fox jumps over the lazy dog",
    ];

    private static readonly uint[] OneAtATime =
    [
        2297466611U, 3902465932U, 469785835U, 1937308741U, 261917617U, 3785641677U, 1439605128U, 1649152283U,
        1493851484U, 1246520657U, 2221159044U, 1973511823U, 384136800U, 214358653U, 2379473940U, 4269788650U,
        2864377005U, 2638630052U, 427683330U, 990491717U, 1747111141U, 792127364U, 2599214128U, 2553037199U,
        2509838425U, 1369346549U,
    ];

    private static readonly uint[] Md5 =
    [
        3195025439U, 2556848621U, 3724893440U, 3332385401U, 245758794U, 2550894432U, 121710495U, 3053817768U,
        1250994555U, 1862072655U, 2631955953U, 2951528551U, 1451250070U, 2820856945U, 2060845566U, 3646985608U,
        2138080750U, 217675895U, 2230934345U, 1234361223U, 3968582726U, 2455685270U, 1293568479U, 199067604U,
        2042482093U, 2642219166U,
    ];

    // libmemcached's "crc" is ((crc32 >> 16) & 0x7fff) -- the same reduction PECL's standard strategy applies to the
    // same CRC-32, so it checks PeclCrc32 and that reduction together.
    private static readonly uint[] Crc15 =
    [
        10542U, 22009U, 14526U, 19510U, 19432U, 10199U, 20634U, 9369U, 11511U, 10362U, 7893U, 31289U, 11313U, 9354U,
        7621U, 30628U, 15218U, 25967U, 2695U, 9380U, 17300U, 28156U, 9192U, 20484U, 16925U, 16719U,
    ];

    private static readonly uint[] Fnv1a32 =
    [
        280767167U, 2421315013U, 3072375666U, 855001899U, 459261019U, 3521085446U, 18738364U, 1625305005U,
        2162232970U, 777243802U, 3323728671U, 132336572U, 3654473228U, 260679466U, 1169454059U, 2698319462U,
        1062177260U, 235516991U, 2218399068U, 405302637U, 1128467232U, 3579622413U, 2138539289U, 96429129U,
        2877453236U, 76545936U,
    ];

    [Fact]
    public void Hashes_match_libmemcached_fixture()
    {
        Assert.Equal(26, Inputs.Length);
        for (var i = 0; i < Inputs.Length; i++)
        {
            var bytes = Encoding.ASCII.GetBytes(Inputs[i]);
            Assert.Equal(OneAtATime[i], OneAtATimeHash.Hash(bytes));
            Assert.Equal(Md5[i], KetamaMd5.Hash(bytes));
            Assert.Equal(Crc15[i], (PeclCrc32.Hash(bytes) >> 16) & 0x7FFF);
            Assert.Equal(Fnv1a32[i], PeclFnv1a32.Hash(bytes));
        }
    }

    [Fact]
    public void Crc32_is_the_standard_check_value()
    {
        // The CRC-32/ISO-HDLC check value, also PHP's crc32("123456789").
        Assert.Equal(0xCBF43926u, PeclCrc32.Hash("123456789"u8));
    }

    [Fact]
    public void Incremental_forms_equal_the_one_shot_hashes()
    {
        var whole = "127.0.0.1:11211-159"u8;
        var prefix = "127.0.0.1:11211-"u8;
        var suffix = "159"u8;
        Assert.Equal(PeclCrc32.Hash(whole), PeclCrc32.Finish(PeclCrc32.Combine(PeclCrc32.Combine(PeclCrc32.Seed, prefix), suffix)));
        Assert.Equal(PeclFnv1a32.Hash(whole), PeclFnv1a32.Combine(PeclFnv1a32.Combine(PeclFnv1a32.Seed, prefix), suffix));
    }

    [Fact]
    public void High_bytes_are_sign_extended_like_a_signed_char()
    {
        // "\u0436" is D0 B6 in UTF-8. libmemcached and PECL memcache read keys through (signed) char on x86-64, so
        // these differ from the textbook algorithms, which would treat the bytes as 0..255.
        var key = Encoding.UTF8.GetBytes("\u0436");
        Assert.NotEqual(TextbookFnv1a(key), PeclFnv1a32.Hash(key));
        Assert.Equal(TextbookFnv1a("abc"u8), PeclFnv1a32.Hash("abc"u8));
    }

    private static uint TextbookFnv1a(ReadOnlySpan<byte> data)
    {
        var hash = 0x811C9DC5u;
        foreach (var b in data)
        {
            hash = unchecked((hash ^ b) * 0x01000193u);
        }

        return hash;
    }
}
