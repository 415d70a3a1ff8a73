using System.Text;
using Ballast.Distribution;
using Ballast.Distribution.Hashing;

namespace Ballast.Tests.Distribution;

/// <summary>
/// Published placement vectors: libmemcached's own ketama compatibility cases and PECL memcache's hash-strategy test.
/// </summary>
public sealed class PublishedVectorTests
{
    // libmemcached test/fixtures/ketama.hpp (ketama_test_cases), as used by test/tests/memcached/ketama.cpp
    // ("memcached_ketama_compat"): MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED over the pool below. Columns: key, key hash
    // (first four MD5 bytes, little-endian), the continuum point the key lands on, the expected server.
    public static TheoryData<string, uint, uint, string> KetamaCases => new()
    {
        { "SVa_]_V41)", 443691461u, 445379617u, "10.0.1.7" },
        { "*/Z;?V(.\\8", 1422915503u, 1428303028u, "10.0.1.1" },
        { "30C1*Z*S/_", 1473165754u, 1480075959u, "10.0.1.2" },
        { "ERR:EC58G>", 2148406511u, 2168579133u, "10.0.1.7" },
        { "1I=cTMNTKF", 2882686667u, 2885206587u, "10.0.1.5" },
        { "]VG<`I*Z8)", 1103544263u, 1104827657u, "10.0.1.5" },
        { "UUTC`-V159", 3716288206u, 3727224240u, "10.0.1.5" },
        { "@7RU6C6T+Z", 3862737685u, 3871917949u, "10.0.1.5" },
        { "/XLN0@+36;", 1623269830u, 1627683651u, "10.0.1.1" },
        { "4(`X;\\V.^c", 373546328u, 383925769u, "10.0.1.1" },
        { "726bW=9*a4", 4213440020u, 4213950705u, "10.0.1.7" },
        { "\\`)<B)UE,c", 951096736u, 955226069u, "10.0.1.1" },
        { "P1[Ma3=K1/", 1989324036u, 1994028240u, "10.0.1.8" },
        { "C89I.-V?cT", 1604239957u, 1606398093u, "10.0.1.8" },
        { "D[HE+cFXDK", 2117036136u, 2117124014u, "10.0.1.3" },
        { "P1L?NAB[)K", 2129972569u, 2132542634u, "10.0.1.1" },
        { "cDT0)Z5P6,", 176485284u, 178675413u, "10.0.1.5" },
        { "@JW`+[WAO8", 2720940826u, 2743975456u, "10.0.1.5" },
        { "\\39DKW^)N_", 3548879868u, 3550704865u, "10.0.1.3" },
        { "EM75N0+[X1", 1558531507u, 1559308507u, "10.0.1.4" },
        { "`,SS]NBP,b", 1883545960u, 1884847278u, "10.0.1.1" },
        { "XX1a9LT+F?", 653487707u, 656410408u, "10.0.1.5" },
        { "Zc\\-,F-c6V", 1160802451u, 1171575728u, "10.0.1.5" },
        { "1*RTMC7,03", 1602398012u, 1606398093u, "10.0.1.8" },
        { "*Xc+V0P>32", 536016577u, 539988520u, "10.0.1.7" },
        { "U))Fb-(`,.", 4128682289u, 4136854163u, "10.0.1.7" },
        { "R-08RNTaRT", 3718170086u, 3727224240u, "10.0.1.5" },
        { "(LHcO203I3", 1007779411u, 1014643570u, "10.0.1.5" },
        { "=256P+;Qc8", 3976201210u, 3976304873u, "10.0.1.5" },
        { "OI5XZ_BBT(", 2155922164u, 2168579133u, "10.0.1.7" },
        { "2TLRL/UL;:", 1086800909u, 1095659802u, "10.0.1.7" },
        { "WHD\\O1`ZRW", 3087923411u, 3095471560u, "10.0.1.5" },
        { ".=54)_c;=T", 2497691631u, 2502731301u, "10.0.1.1" },
        { ";G<W-XWZ@b", 2888169733u, 2888728739u, "10.0.1.5" },
        { "(,>E`)FT\\4", 580747448u, 581063326u, "10.0.1.2" },
        { "HZAU*;P*N]", 2564670474u, 2565697267u, "10.0.1.7" },
        { "NZ@ZE=O84_", 533335275u, 539988520u, "10.0.1.7" },
        { "6,cEI`F_P>", 3972869246u, 3974773167u, "10.0.1.6" },
        { "c,5AQ/T5)6", 2835605783u, 2847870057u, "10.0.1.8" },
        { ".O,>>BT)RX", 3857978174u, 3871917949u, "10.0.1.5" },
        { "XY\\X::LX50", 1749241099u, 1752196488u, "10.0.1.6" },
        { "+550F^/.01", 3781824099u, 3783248219u, "10.0.1.6" },
        { "<.X9E2S5+9", 3232479481u, 3234387706u, "10.0.1.7" },
        { "]\\.UH8_0a1", 2419699252u, 2423002920u, "10.0.1.4" },
        { "8(6=(T0/Z0", 728266737u, 729026070u, "10.0.1.7" },
        { "8*6a;Sc*X+", 4223431086u, 4230156966u, "10.0.1.2" },
        { "<QW:;3K6;H", 2731158143u, 2743975456u, "10.0.1.5" },
        { "7C@EY@-Y?_", 760770733u, 761576669u, "10.0.1.5" },
        { "aPb3E1WD4K", 2500489218u, 2502731301u, "10.0.1.1" },
        { "?@12R<=1BH", 1494795329u, 1502505505u, "10.0.1.8" },
        { "QR(a+Q=1FU", 3238535074u, 3238996435u, "10.0.1.6" },
        { "`C9^FV,960", 2628553463u, 2628733766u, "10.0.1.6" },
        { "UNHVP..^8H", 977096483u, 977319837u, "10.0.1.4" },
        { ":Y.2W2[(35", 2777083668u, 2784182515u, "10.0.1.7" },
        { "M/HV^_HZ4O", 3623390946u, 3624445007u, "10.0.1.7" },
        { "ZY16KQ<ICD", 1831153193u, 1838563516u, "10.0.1.4" },
        { "bV2,`a.PY9", 1962228869u, 1962648654u, "10.0.1.1" },
        { "U;9:-+5N]9", 269504649u, 277560877u, "10.0.1.1" },
        { "1S/:aJ[1(;", 578069729u, 581063326u, "10.0.1.2" },
        { "Nb-X^]M)I:", 330865696u, 331009896u, "10.0.1.6" },
        { "2;M;ES>J5/", 2776949824u, 2784182515u, "10.0.1.7" },
        { "[>RZHG97Q9", 71954686u, 72034069u, "10.0.1.6" },
        { "J3/G[)9<^Z", 2799896459u, 2805183696u, "10.0.1.7" },
        { "N-)88>[O`,", 50404102u, 51792557u, "10.0.1.5" },
        { "NP:=FR\\OaA", 3837333776u, 3837792034u, "10.0.1.7" },
        { "`@L+W;a,O[", 1512157148u, 1522285852u, "10.0.1.6" },
        { "W2`P:-+1T[", 2945171975u, 2946196424u, "10.0.1.5" },
        { "-6G7K^YDIN", 3168617340u, 3170513015u, "10.0.1.7" },
        { "U>*>9ZI6V5", 668514946u, 674097631u, "10.0.1.6" },
        { ".I?^6Ic9RK", 938419020u, 942832691u, "10.0.1.6" },
        { "0OZH^9BKM[", 3682518606u, 3686781297u, "10.0.1.8" },
        { "5?50UGZ:ML", 868610882u, 869425986u, "10.0.1.5" },
        { "?K2NF@3=IU", 381218851u, 383925769u, "10.0.1.1" },
        { "YI@G-2X?UB", 3688706179u, 3693197681u, "10.0.1.5" },
        { "7cY</BSaL=", 3976870223u, 3978903843u, "10.0.1.6" },
        { "A(`KF:[RH8", 3292979676u, 3294849139u, "10.0.1.6" },
        { ";=ZT\\W^P+H", 1401102653u, 1416290674u, "10.0.1.4" },
        { "b2?WFF56;R", 480494704u, 486971192u, "10.0.1.4" },
        { "CTR74,J+N.", 137446045u, 146633907u, "10.0.1.8" },
        { "<b;*R+QDST", 1304985302u, 1308223778u, "10.0.1.5" },
        { "\\R^7=9UCG`", 126218373u, 129199837u, "10.0.1.5" },
        { "1bQS5]WOXB", 1853470245u, 1855329369u, "10.0.1.4" },
        { "M(@X^b[L:K", 3019630308u, 3022260113u, "10.0.1.1" },
        { "431cBF8,YO", 1679726993u, 1685224295u, "10.0.1.7" },
        { "(bEIQJ:E./", 2922607787u, 2925521819u, "10.0.1.6" },
        { "WS/3H*)7F;", 419488232u, 422140585u, "10.0.1.5" },
        { "ZJF[Ia6Q)+", 3960568056u, 3962489998u, "10.0.1.7" },
        { "<]*QCK8U,>", 2590140172u, 2598117636u, "10.0.1.7" },
        { "\\[a\\^=V_M0", 689410119u, 698690782u, "10.0.1.6" },
        { "7;RM+8J9YC", 1530175299u, 1531107082u, "10.0.1.7" },
        { "4*=.SPR[AV", 3928582722u, 3928853792u, "10.0.1.1" },
        { "-2F+^88P4U", 3023552752u, 3025823613u, "10.0.1.7" },
        { "X;-F`(N?9D", 570465234u, 572485994u, "10.0.1.7" },
        { "R=F_D-K2a]", 1287750228u, 1290935562u, "10.0.1.7" },
        { "X*+2aaC.EG", 3200948713u, 3201088518u, "10.0.1.5" },
        { "[1ZXONX2]a", 4108881567u, 4109865744u, "10.0.1.4" },
        { "FL;\\GWacaV", 458449508u, 467374054u, "10.0.1.4" },
        { "\\MQ_XNT7L-", 1259349383u, 1259509450u, "10.0.1.7" },
        { "VD6D0]ba_\\", 3842502950u, 3842588691u, "10.0.1.1" },
    };

    // The server list of that test: "10.0.1.1:11211 600,10.0.1.2:11211 300,...,10.0.1.8:11211 100".
    private static readonly ServerEndPoint[] KetamaPool =
    [
        new("10.0.1.1", 11211, 600), new("10.0.1.2", 11211, 300), new("10.0.1.3", 11211, 200), new("10.0.1.4", 11211, 350),
        new("10.0.1.5", 11211, 1000), new("10.0.1.6", 11211, 800), new("10.0.1.7", 11211, 950), new("10.0.1.8", 11211, 100),
    ];

    private static readonly KetamaContinuum Continuum = new(KetamaPool);

    [Theory]
    [MemberData(nameof(KetamaCases))]
    public void Ketama_matches_libmemcached_fixture(string key, uint keyHash, uint point, string server)
    {
        var bytes = Encoding.UTF8.GetBytes(key);
        Assert.Equal(keyHash, KetamaMd5.Hash(bytes));
        var pointIndex = Continuum.FindPoint(keyHash);
        Assert.Equal(point, Continuum.ValueAtPoint(pointIndex));
        Assert.Equal(server, KetamaPool[Continuum.Locate(bytes)].Host);
    }

    [Fact]
    public void Ketama_fixture_has_all_99_cases()
    {
        Assert.Equal(99, KetamaCases.Count());
    }

    [Fact]
    public void Ketama_wraps_past_the_last_point()
    {
        // ketama.cpp: "VDEAAAAA hashes to fffcd1b5, after the last continuum point, and lets us test the boundary
        // wraparound" -- it must land on the server of continuum[0].
        var key = "VDEAAAAA"u8;
        Assert.Equal(0xfffcd1b5u, KetamaMd5.Hash(key));
        Assert.Equal(0, Continuum.FindPoint(0xfffcd1b5u));
        Assert.Equal(Continuum.ServerAtPoint(0), Continuum.Locate(key));
    }

    // PECL memcache tests/046.phpt ("hash strategies and functions") with the $balanceKeys of tests/connect.inc:
    // pool localhost:11211 + localhost:11212 (weight 1 each); the first key must land on the second server and the
    // second key on the first, for each strategy/function pair.
    [Theory]
    [InlineData(KeyDistribution.PeclConsistent, PeclHashFunction.Crc32, "key1_abc", "key2_abcde")]
    [InlineData(KeyDistribution.PeclConsistent, PeclHashFunction.Fnv, "key1_a", "key2_2534534")]
    [InlineData(KeyDistribution.PeclStandard, PeclHashFunction.Crc32, "load_test_key1", "load_test_key2")]
    [InlineData(KeyDistribution.PeclStandard, PeclHashFunction.Fnv, "key1_ab", "key2_a")]
    public void Pecl_matches_memcache_046_phpt(KeyDistribution distribution, PeclHashFunction hash, string toSecond, string toFirst)
    {
        var locator = ServerLocatorFactory.Create(distribution, hash, [new("localhost", 11211), new("localhost", 11212)]);
        Assert.Equal(1, locator.Locate(Encoding.UTF8.GetBytes(toSecond)));
        Assert.Equal(0, locator.Locate(Encoding.UTF8.GetBytes(toFirst)));
    }
}
