using Ballast.Cli.Bench;

namespace Ballast.Tests.Bench;

public class PeerOutputParsingTests
{
    // Captured from `memcaslap -s 127.0.0.1:PORT -T 1 -c 1 -t 2s -X 100 -F cfg -S 2s` (memcaslap of libmemcached 1.0.18).
    private const string MemcaslapSample = """
        servers: 127.0.0.1:22199
        threads count: 1
        concurrency: 1
        run time: 2s
        windows size: 10k
        set proportion: set_prop=0.10
        get proportion: get_prop=0.90

        Get Statistics
        Type     Time(s)  Ops          TPS(ops/s)   Net(M/s)   Get_miss   Min(us)  Max(us)    Avg(us)    Std_dev    Geo_dist  
        Period   2        57614        28807        4.5        0          17       9168       30         164.19     23.59
        Global   2        57614        28807        4.5        0          17       9168       30         164.19     23.59

        Get Statistics (57617 events)
           Min:        17
           Max:      9168
           Avg:        30
           Geo:     23.59
           Std:    164.19
           Log2 Dist:
               4:        0    54684     1442     1337
               8:       62        5        4       15
              12:       38       28        2

        Set Statistics (6402 events)
           Min:        18
           Max:      7745
           Avg:        37
           Geo:     24.67
           Std:    228.68
           Log2 Dist:
               4:        0     6049      125      198
               8:        7        2        2        3
              12:        9        7

        cmd_get: 57618
        cmd_set: 6402
        get_misses: 0
        written_bytes: 5185550
        read_bytes: 10710361
        object_bytes: 1049928

        Run time: 2.0s Ops: 64020 TPS: 31896 Net_rate: 7.6M/s
        """;

    [Fact]
    public void Memcaslap_final_tps_and_get_p99_bucket_are_read()
    {
        var result = Memcaslap.Parse(MemcaslapSample.ReplaceLineEndings("\n"));
        Assert.NotNull(result);
        Assert.Equal(31896, result.Tps);
        Assert.Equal(64020, result.Ops);

        // 57617 gets: 54684 in [32,64) us, then 1442 in [64,128) (cumulative 56126) and 1337 in [128,256) (57463):
        // rank ceil(0.99 * 57617) = 57041 falls in [128, 256) us.
        Assert.Equal(128, result.GetP99BucketLowMicroseconds);
        Assert.Equal(256, result.GetP99Microseconds);
        Assert.Equal(9168, result.GetMaxMicroseconds);
    }

    [Fact]
    public void Memcaslap_output_without_a_result_is_null()
        => Assert.Null(Memcaslap.Parse("Please specify the item window size. :-)\n"));

    [Fact]
    public void Memcaslap_arguments_carry_the_settings()
    {
        var arguments = Memcaslap.Arguments("127.0.0.1:1", threads: 2, concurrency: 32, seconds: 10, valueSize: 100, keys: 1000, "cfg", multiget: 20);
        Assert.Equal(
            ["-s", "127.0.0.1:1", "-T", "2", "-c", "32", "-t", "10s", "-X", "100", "-w", "1k", "-F", "cfg", "-S", "10s", "-d", "20"],
            arguments);
        Assert.Equal("key\n16 16 1\nvalue\n100 100 1\ncmd\n0 0.1\n1 0.9\n", Memcaslap.ConfigFile(16, 100, 0.9));
    }

    [Fact]
    public void Mgblast_keys_per_second_is_read()
    {
        Assert.Equal(1491115, Mgblast.Parse("1491115 keys/s (conns=2 depth=200)\n"));
        Assert.Null(Mgblast.Parse("connect: Connection refused\n"));
    }
}
