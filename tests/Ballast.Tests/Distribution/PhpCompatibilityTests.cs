using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Ballast.Distribution;
using Xunit.Abstractions;

namespace Ballast.Tests.Distribution;

/// <summary>
/// Ballast's locators against the real PHP extensions and real memcached processes: PHP <c>memcached</c>
/// (libmemcached) for Ketama and Modula, PHP <c>memcache</c> (PECL) for the consistent and standard strategies with
/// both hash functions. For 1 to 8 servers with assorted weights and ports (11211 included), every key's server as PHP
/// sees it must be the server Ballast picks.
/// </summary>
public sealed class PhpCompatibilityTests : IClassFixture<MemcachedProcessFixture>
{
    private const int KeyCount = 2000;
    private const int SetSample = 250;

    private readonly MemcachedProcessFixture _fixture;
    private readonly ITestOutputHelper _output;

    public PhpCompatibilityTests(MemcachedProcessFixture fixture, ITestOutputHelper output)
    {
        _fixture = fixture;
        _output = output;
    }

    [Fact]
    public void Fixture_covers_port_11211_and_other_ports()
    {
        // Ketama names points "host-i" on 11211 and "host:port-i" elsewhere; both forms must be in play.
        Assert.Contains(_fixture.Servers, s => s.Port == ServerEndPoint.DefaultPort);
        Assert.Contains(_fixture.Servers, s => s.Port != ServerEndPoint.DefaultPort);
    }

    [Fact]
    public void Php_memcached_places_keys_like_Ballast()
    {
        var scenarios = BuildScenarios("memcached", [(KeyDistribution.Ketama, PeclHashFunction.Crc32), (KeyDistribution.Modula, PeclHashFunction.Crc32)]);
        var report = Run(scenarios);

        // Every key through getServerByKey; a sample actually stored through PHP and found on exactly one server.
        Assert.Equal(scenarios.Count * KeyCount, report.Placed);
        Assert.Equal(scenarios.Count * SetSample, report.Stored);
        Assert.True(report.Mismatches.Count == 0, Describe(report));
    }

    [Fact]
    public void Php_memcache_places_keys_like_Ballast()
    {
        var scenarios = BuildScenarios("memcache",
        [
            (KeyDistribution.PeclConsistent, PeclHashFunction.Crc32), (KeyDistribution.PeclConsistent, PeclHashFunction.Fnv),
            (KeyDistribution.PeclStandard, PeclHashFunction.Crc32), (KeyDistribution.PeclStandard, PeclHashFunction.Fnv),
        ]);
        var report = Run(scenarios);

        // PECL memcache has no getServerByKey: every key is set through the pool and found by probing each server.
        Assert.Equal(scenarios.Count * KeyCount, report.Stored);
        Assert.True(report.Mismatches.Count == 0, Describe(report));
    }

    private List<Scenario> BuildScenarios(string extension, (KeyDistribution Distribution, PeclHashFunction Hash)[] modes)
    {
        var all = _fixture.Servers;
        var scenarios = new List<Scenario>();
        foreach (var (distribution, hash) in modes)
        {
            for (var count = 1; count <= all.Count; count++)
            {
                // Rotate through the fixture's servers and vary weights 1..5 so that each count sees a different mix of
                // addresses, ports (11211 or not) and weights.
                var servers = new List<ServerEndPoint>();
                for (var j = 0; j < count; j++)
                {
                    var server = all[(count + j) % all.Count];
                    var weight = ((count * 3) + (j * 7) + (int)distribution) % 5 + 1;
                    servers.Add(new ServerEndPoint(server.Host, server.Port, weight));
                }

                scenarios.Add(new Scenario(scenarios.Count, extension, distribution, hash, servers));
            }

            if (distribution == KeyDistribution.Ketama && all.Count >= 5)
            {
                // libmemcached counts each server's points in single precision: with weights 1, 6, 6, 6 and 6 the first
                // server gets 28 points, where double precision gives it 32 and moves keys where PHP would not put them.
                int[] weights = [1, 6, 6, 6, 6];
                scenarios.Add(new Scenario(scenarios.Count, extension, distribution, hash, [.. weights.Select((w, j) => new ServerEndPoint(all[j].Host, all[j].Port, w))]));
            }
        }

        return scenarios;
    }

    private Report Run(List<Scenario> scenarios)
    {
        var keys = Keys();
        var directory = Directory.CreateTempSubdirectory("ballast-php-");
        try
        {
            var input = Path.Combine(directory.FullName, "input.json");
            var script = Path.Combine(directory.FullName, "placement.php");
            File.WriteAllText(script, PhpScript, new UTF8Encoding(false));
            File.WriteAllText(input, JsonSerializer.Serialize(new
            {
                keys,
                sample = SetSample,
                scenarios = scenarios.Select(s => new
                {
                    id = s.Id,
                    prefix = s.Prefix,
                    ext = s.Extension,
                    dist = s.Distribution.ToString(),
                    hash = s.Hash == PeclHashFunction.Fnv ? "fnv" : "crc32",
                    servers = s.Servers.Select(e => new object[] { e.Host, e.Port, e.Weight }).ToArray(),
                }).ToArray(),
            }), new UTF8Encoding(false));

            var stopwatch = Stopwatch.StartNew();
            var lines = RunPhp(script, input);
            _output.WriteLine($"php ran in {stopwatch.Elapsed.TotalSeconds:F1} s");
            return Compare(scenarios, keys, lines);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private Report Compare(List<Scenario> scenarios, string[] keys, List<string> lines)
    {
        var locators = scenarios.Select(s => ServerLocatorFactory.Create(s.Distribution, s.Hash, s.Servers)).ToArray();
        var report = new Report();
        foreach (var line in lines)
        {
            var parts = line.Split('\t');
            if (parts.Length != 4 || (parts[0] != "P" && parts[0] != "S"))
            {
                throw new InvalidOperationException($"Unexpected line from PHP: {line}");
            }

            var scenario = scenarios[int.Parse(parts[1], CultureInfo.InvariantCulture)];
            var keyIndex = int.Parse(parts[2], CultureInfo.InvariantCulture);
            var phpServer = int.Parse(parts[3], CultureInfo.InvariantCulture);
            var key = KeyFor(scenario, keys[keyIndex]);
            var ballast = locators[scenario.Id].Locate(Encoding.UTF8.GetBytes(key));
            if (parts[0] == "P")
            {
                report.Placed++;
            }
            else
            {
                report.Stored++;
            }

            if (ballast != phpServer)
            {
                report.Mismatches.Add($"{parts[0]} {scenario}: key '{key}': PHP {Name(scenario, phpServer)}, Ballast {Name(scenario, ballast)}");
            }
        }

        _output.WriteLine($"{scenarios.Count} scenarios; compared {report.Placed} getServerByKey placements and {report.Stored} stored keys; {report.Mismatches.Count} mismatches");
        foreach (var scenario in scenarios)
        {
            _output.WriteLine("  " + scenario);
        }

        return report;
    }

    private static string Name(Scenario scenario, int index) => index switch
    {
        -1 => "(not found)",
        -2 => "(on several servers)",
        _ when index >= 0 && index < scenario.Servers.Count => $"#{index} {scenario.Servers[index]}",
        _ => $"(#{index}?)",
    };

    private static string Describe(Report report) =>
        $"{report.Mismatches.Count} mismatches, first ones:\n" + string.Join('\n', report.Mismatches.Take(15));

    // Both tests store into the same servers; the prefix keeps every scenario's keys apart from every other's.
    private static string KeyFor(Scenario scenario, string key) => scenario.Prefix + key;

    private static List<string> RunPhp(string script, string input)
    {
        var start = new ProcessStartInfo("php")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add("-d");
        start.ArgumentList.Add("display_errors=stderr");
        start.ArgumentList.Add(script);
        start.ArgumentList.Add(input);

        using var process = Process.Start(start) ?? throw new InvalidOperationException("php did not start.");
        var stderr = process.StandardError.ReadToEndAsync();
        var lines = new List<string>();
        var stdout = Task.Run(() =>
        {
            string? line;
            while ((line = process.StandardOutput.ReadLine()) != null)
            {
                lines.Add(line);
            }
        });
        if (!process.WaitForExit(TimeSpan.FromSeconds(50)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("php did not finish within 50 s.");
        }

        stdout.Wait();
        var errors = stderr.Result;
        if (process.ExitCode != 0 || errors.Length > 0)
        {
            throw new InvalidOperationException($"php exited with {process.ExitCode}: {errors}");
        }

        return lines;
    }

    /// <summary>ASCII, non-ASCII UTF-8 (Cyrillic, CJK, accented Latin, emoji) and long keys; no spaces or controls.</summary>
    private static string[] Keys()
    {
        var random = new Random(20240611);
        string[] alphabet = ["a", "Z", "0", "_", "-", ":", ".", "é", "ß", "ж", "ключ", "日本", "語", "🔑", "🚀", "Ω", "ü", "\u00a0x", "한"];
        var keys = new List<string>(KeyCount);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        void Add(string key)
        {
            if (seen.Add(key))
            {
                keys.Add(key);
            }
        }

        for (var i = 0; keys.Count < KeyCount; i++)
        {
            switch (i % 8)
            {
                case 0: Add(string.Create(CultureInfo.InvariantCulture, $"user:{i}")); break;
                case 1: Add(string.Create(CultureInfo.InvariantCulture, $"ключ-{i}")); break;
                case 2: Add(string.Create(CultureInfo.InvariantCulture, $"日本-{i}")); break;
                case 3: Add(string.Create(CultureInfo.InvariantCulture, $"🔑-{i}")); break;
                case 4:
                {
                    var chars = new char[random.Next(1, 60)];
                    for (var c = 0; c < chars.Length; c++)
                    {
                        chars[c] = (char)random.Next(0x21, 0x7F);
                    }

                    Add(new string(chars));
                    break;
                }

                case 5:
                {
                    var builder = new StringBuilder();
                    var parts = random.Next(1, 12);
                    for (var p = 0; p < parts; p++)
                    {
                        builder.Append(alphabet[random.Next(alphabet.Length)]);
                    }

                    Add(builder.ToString());
                    break;
                }

                case 6: Add(string.Create(CultureInfo.InvariantCulture, $"session_{i:x8}_{new string('k', random.Next(100, 200))}")); break;
                default: Add(string.Create(CultureInfo.InvariantCulture, $"clé:{i}:ü")); break;
            }
        }

        return keys.ToArray();
    }

    private sealed record Scenario(int Id, string Extension, KeyDistribution Distribution, PeclHashFunction Hash, List<ServerEndPoint> Servers)
    {
        public string Prefix => string.Create(CultureInfo.InvariantCulture, $"{Extension}{Id}:");

        public override string ToString() =>
            string.Create(CultureInfo.InvariantCulture, $"#{Id} {Extension} {Distribution}{(Extension == "memcache" ? "/" + Hash : string.Empty)} [{string.Join(", ", Servers.Select(s => $"{s}:{s.Weight}"))}]");
    }

    private sealed class Report
    {
        public int Placed { get; set; }

        public int Stored { get; set; }

        public List<string> Mismatches { get; } = [];
    }

    // Reads the JSON spec and prints "P|S <tab> scenario <tab> key index <tab> server index" lines, where P is
    // php-memcached's getServerByKey and S is the server a key stored through PHP was found on (-1: nowhere,
    // -2: on several servers). Keys are prefixed "<extension><scenario>:" so scenarios never see each other's data.
    private const string PhpScript = """
        <?php
        // PECL memcache 4.0.5.2 itself triggers a deprecation on PHP 8.2 (dynamic property Memcache::$connection);
        // anything worse than a deprecation fails the run.
        error_reporting(E_ALL & ~E_DEPRECATED);
        set_error_handler(function ($no, $str, $file, $line) { fwrite(STDERR, "PHP error: $str at line $line\n"); exit(3); }, E_ALL & ~E_DEPRECATED);
        $spec = json_decode(file_get_contents($argv[1]), true, 512, JSON_THROW_ON_ERROR);
        $keys = $spec['keys'];
        $sample = $spec['sample'];

        foreach ($spec['scenarios'] as $sc) {
            $id = $sc['id'];
            $servers = $sc['servers'];
            $full = [];
            foreach ($keys as $i => $k) { $full[$i] = $sc['prefix'] . $k; }
            $holder = array_fill(0, count($full), -1);

            if ($sc['ext'] === 'memcached') {
                $m = new Memcached();
                if ($sc['dist'] === 'Ketama') {
                    $m->setOption(Memcached::OPT_LIBKETAMA_COMPATIBLE, true);
                }
                $index = [];
                foreach ($servers as $n => [$h, $p, $w]) {
                    if (!$m->addServer($h, $p, $w)) { fwrite(STDERR, "addServer failed\n"); exit(4); }
                    $index["$h:$p"] = $n;
                }
                foreach ($full as $i => $k) {
                    $s = $m->getServerByKey($k);
                    $n = ($s === false) ? -1 : ($index[$s['host'] . ':' . $s['port']] ?? -3);
                    echo "P\t$id\t$i\t$n\n";
                }
                // Storing goes through the binary protocol: with the (default) ASCII protocol php-memcached refuses
                // keys with bytes >= 0x80 ("BAD KEY"), though getServerByKey accepts them. The protocol does not take
                // part in key distribution, so the same options and servers place keys identically.
                $m->setOption(Memcached::OPT_BINARY_PROTOCOL, true);
                $subset = array_slice($full, 0, $sample, true);
                foreach ($subset as $i => $k) {
                    if (!$m->set($k, 'x', 300)) { fwrite(STDERR, "memcached set failed: " . $m->getResultMessage() . "\n"); exit(5); }
                }
                foreach ($servers as $n => [$h, $p, $w]) {
                    $one = new Memcached();
                    $one->setOption(Memcached::OPT_BINARY_PROTOCOL, true);
                    $one->addServer($h, $p);
                    $got = $one->getMulti(array_values($subset));
                    if ($got === false) { fwrite(STDERR, "getMulti failed: " . $one->getResultMessage() . "\n"); exit(6); }
                    foreach ($subset as $i => $k) {
                        if (array_key_exists($k, $got)) { $holder[$i] = $holder[$i] === -1 ? $n : -2; }
                    }
                    $one->quit();
                }
                $m->quit();
                foreach ($subset as $i => $k) { echo "S\t$id\t$i\t{$holder[$i]}\n"; }
            } else {
                ini_set('memcache.hash_strategy', $sc['dist'] === 'PeclConsistent' ? 'consistent' : 'standard');
                ini_set('memcache.hash_function', $sc['hash']);
                $m = new Memcache();
                foreach ($servers as [$h, $p, $w]) {
                    if (!$m->addServer($h, $p, true, $w)) { fwrite(STDERR, "addServer failed\n"); exit(4); }
                }
                foreach ($full as $i => $k) {
                    if (!$m->set($k, 'x', 0, 300)) { fwrite(STDERR, "memcache set failed for key $i\n"); exit(5); }
                }
                foreach ($servers as $n => [$h, $p, $w]) {
                    $one = new Memcache();
                    $one->addServer($h, $p, true, 1);
                    foreach (array_chunk($full, 200, true) as $chunk) {
                        $got = $one->get(array_values($chunk));
                        if (!is_array($got)) { fwrite(STDERR, "memcache get failed\n"); exit(6); }
                        foreach ($chunk as $i => $k) {
                            if (array_key_exists($k, $got)) { $holder[$i] = $holder[$i] === -1 ? $n : -2; }
                        }
                    }
                }
                foreach ($full as $i => $k) { echo "S\t$id\t$i\t{$holder[$i]}\n"; }
            }
        }
        """;
}
